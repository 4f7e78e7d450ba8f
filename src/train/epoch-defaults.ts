/**
 * The recipe's epoch counts (freeze 50, warm-up 3, flat 15 of 300 epochs) make no sense in a short
 * run: `--epochs 1` would train with the backbone frozen and never leave the warm-up. Defaults are
 * scaled to the run's length; values the user gave are kept, with a warning where they exceed it.
 */
import type { TrainSettings } from './settings.ts';

type EpochKey = 'freezeEpochs' | 'warmupEpochs' | 'flatEpochs' | 'milestones';

const FLAG: Record<EpochKey, string> = {
  freezeEpochs: '--freeze-epochs', warmupEpochs: '--warmup-epochs', flatEpochs: '--flat-epochs', milestones: '--milestones',
};

/** What an explicit value at or past the end of the run means for it. */
const CONSEQUENCE: Record<EpochKey, string> = {
  freezeEpochs: 'the backbone stays frozen for the whole run',
  warmupEpochs: 'the lr never leaves the warm-up',
  flatEpochs: 'the cosine part is cut to half the run',
  milestones: 'a milestone at or after the last epoch is never reached',
};

export interface FittedEpochs {
  settings: TrainSettings;
  /** At most one line about scaled defaults and one per explicit value past the run's end. */
  notes: string[];
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/**
 * `recipeEpochs`: the run length the defaults were made for (300 for train, 20 for finetune).
 * `explicit`: settings the user gave on the command line.
 */
export function fitEpochDefaults(s: TrainSettings, explicit: ReadonlySet<keyof TrainSettings>, recipeEpochs: number): FittedEpochs {
  const out: TrainSettings = { ...s, milestones: [...s.milestones] };
  const notes: string[] = [];
  if (s.epochs < recipeEpochs) {
    const f = s.epochs / recipeEpochs;
    const scaled: string[] = [];
    const scale = (k: Exclude<EpochKey, 'milestones'>, v: number) => {
      if (explicit.has(k) || s[k] <= 0) return;
      out[k] = v;
      scaled.push(`${FLAG[k]} ${s[k]} -> ${v}`);
    };
    // Freezing is decided per whole epoch; warm-up and flat epochs may be fractions.
    scale('freezeEpochs', Math.floor(s.freezeEpochs * f));
    scale('warmupEpochs', round2(s.warmupEpochs * f));
    scale('flatEpochs', round2(s.flatEpochs * f));
    if (!explicit.has('milestones') && s.milestones.length) {
      out.milestones = s.milestones.map((m) => Math.max(1, Math.round(m * f)));
      scaled.push(`${FLAG.milestones} ${s.milestones.join(' ')} -> ${out.milestones.join(' ')}`);
    }
    if (scaled.length) notes.push(`--epochs ${s.epochs} is shorter than the ${recipeEpochs} the defaults are made for; scaled: ${scaled.join(', ')}`);
  }
  for (const k of ['freezeEpochs', 'warmupEpochs', 'flatEpochs'] as const) {
    if (explicit.has(k) && out[k] >= s.epochs && out[k] > 0) notes.push(`warning: ${FLAG[k]} ${out[k]} >= --epochs ${s.epochs}: ${CONSEQUENCE[k]}`);
  }
  if (explicit.has('milestones') && out.milestones.some((m) => m >= s.epochs)) {
    notes.push(`warning: --milestones ${out.milestones.join(' ')} with --epochs ${s.epochs}: ${CONSEQUENCE.milestones}`);
  }
  return { settings: out, notes };
}
