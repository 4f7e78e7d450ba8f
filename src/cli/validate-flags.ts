/**
 * Every numeric flag of every verb, checked in one place before any work starts (issue 11, B8/B9):
 * `--conf abc` used to become NaN and silently find nothing, `--batch 0` failed deep in the data
 * code, `eval --img-size 300` crashed inside tfjs. A value that is not a finite number is always
 * refused; the flags below also have a range. Registered as a global yargs check in main.ts, so a
 * bad value is a usage error (exit 2) naming the flag and the value as typed.
 */
import { UsageError } from '../util/errors.ts';

export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** min / max themselves refused. */
  minExclusive?: boolean;
  maxExclusive?: boolean;
  multipleOf?: number;
}

const positiveInt: NumberRule = { integer: true, min: 1 };
const nonNegativeInt: NumberRule = { integer: true, min: 0 };
const nonNegative: NumberRule = { min: 0 };
const positive: NumberRule = { min: 0, minExclusive: true };
const fraction: NumberRule = { min: 0, max: 1 };
const fractionBelowOne: NumberRule = { min: 0, max: 1, maxExclusive: true };
/** Network input sizes: the stride of the coarsest head is 32. */
export const MAX_INPUT_SIZE = 4096;
const inputSize: NumberRule = { integer: true, min: 32, max: MAX_INPUT_SIZE, multipleOf: 32 };

/** By flag name (as declared, kebab-case). 0 stays valid where the help gives it a meaning ("0: all", "0: off"). */
export const FLAG_RULES: Readonly<Record<string, NumberRule>> = {
  threads: { integer: true, min: 1, max: 8 }, // tfjs caps the wasm pool at 8
  'img-size': inputSize,
  'input-size': inputSize,
  conf: fraction,
  iou: fraction,
  batch: positiveInt,
  'max-det': positiveInt,
  limit: positiveInt,
  'max-frames': positiveInt,
  runs: positiveInt,
  amount: { min: 0, max: 1, minExclusive: true, maxExclusive: true },
  'target-flops': { min: 0, max: 1, minExclusive: true, maxExclusive: true },
  'target-params': { min: 0, max: 1, minExclusive: true, maxExclusive: true },
  'target-speedup': { min: 1, minExclusive: true },
  'round-to': positiveInt,
  'min-channels': positiveInt,
  opset: { integer: true, min: 13, max: 21 },
  seed: { integer: true },
  'proxy-images': positiveInt,
  top: nonNegativeInt,
  steps: positiveInt,
  'finetune-epochs': nonNegativeInt,
  'max-map-drop': fraction,
  epochs: nonNegativeInt, // demo: 0 skips fine-tuning; train/finetune below
  subdivisions: positiveInt,
  lr0: positive,
  lr: positive,
  'lr-min': nonNegative,
  momentum: fractionBelowOne,
  'weight-decay': nonNegative,
  'warmup-epochs': nonNegative,
  'flat-epochs': nonNegative,
  milestones: nonNegativeInt,
  gamma: positive,
  'freeze-epochs': nonNegative,
  'clip-grad': nonNegative,
  mosaic: fraction,
  mixup: fraction,
  'mosaic-fraction': fraction,
  'label-smoothing': fractionBelowOne,
  'box-gain': nonNegative,
  'cls-gain': nonNegative,
  'anchor-iou': fractionBelowOne,
  'val-every': nonNegativeInt,
  'val-limit': nonNegativeInt,
  'save-period': nonNegativeInt,
  'max-batches': nonNegativeInt,
};

/** Where a verb gives a flag a stricter meaning than the table above. */
export const VERB_FLAG_RULES: Readonly<Record<string, Readonly<Record<string, NumberRule>>>> = {
  train: { epochs: positiveInt },
  finetune: { epochs: positiveInt },
};

/** Flags whose default comes from an environment variable (named when the bad value came from there). */
const FLAG_ENV: Readonly<Record<string, string>> = { threads: 'YOLO4_THREADS' };

export class FlagValueError extends UsageError {
  constructor(readonly flag: string, readonly value: string, expected: string, list = false) {
    super(`--${flag} ${list ? 'values' : ''}${list ? ' ' : ''}must ${list ? 'each ' : ''}be ${expected}, got ${value}`);
    this.name = 'FlagValueError';
  }
}

/** Words for a rule, e.g. "an integer in 1..8", "a number in [0, 1]", "a multiple of 32 in 32..4096". */
export function describeRule(r: NumberRule): string {
  const { min, max } = r;
  if (r.multipleOf !== undefined) return `a multiple of ${r.multipleOf} in ${min}..${max}`;
  if (r.integer) {
    if (min !== undefined && max !== undefined) return `an integer in ${min}..${max}`;
    if (min === 1) return 'a positive integer';
    if (min === 0) return 'a non-negative integer (0 or more)';
    return 'an integer';
  }
  if (min !== undefined && max !== undefined) {
    return `a number in ${r.minExclusive ? '(' : '['}${min}, ${max}${r.maxExclusive ? ')' : ']'}`;
  }
  if (min !== undefined) return r.minExclusive ? `a number > ${min}` : `a number >= ${min}`;
  if (max !== undefined) return r.maxExclusive ? `a number < ${max}` : `a number <= ${max}`;
  return 'a number';
}

export function satisfies(v: number, r: NumberRule): boolean {
  if (!Number.isFinite(v)) return false;
  if (r.integer && !Number.isInteger(v)) return false;
  if (r.min !== undefined && (r.minExclusive ? v <= r.min : v < r.min)) return false;
  if (r.max !== undefined && (r.maxExclusive ? v >= r.max : v > r.max)) return false;
  if (r.multipleOf !== undefined && v % r.multipleOf !== 0) return false;
  return true;
}

/** The value as the user typed it (`--conf abc` -> "abc"), else the parsed one. */
function typedValue(raw: readonly string[], flag: string, parsed: unknown): string {
  for (let i = raw.length - 1; i >= 0; i--) {
    const a = raw[i];
    if (a === '--') continue;
    if (a.startsWith(`--${flag}=`)) return JSON.stringify(a.slice(flag.length + 3));
    if (a === `--${flag}` && i + 1 < raw.length) return JSON.stringify(raw[i + 1]);
  }
  const env = FLAG_ENV[flag];
  if (env && process.env[env] !== undefined) return `${JSON.stringify(process.env[env])} (from ${env})`;
  return String(parsed);
}

const camelToKebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A negative number is a value, not the next flag. */
const isFlagToken = (a: string) => a.startsWith('-') && !/^-(\d|\.\d)/.test(a);

/**
 * `--conf` typed with no value parses as the default (or undefined), silently: refuse it. Only the
 * numeric flags of the tables are looked at; the last `--` ends the flags.
 */
function refuseMissingValues(verb: string | undefined, raw: readonly string[]): void {
  const end = raw.indexOf('--');
  const args = end < 0 ? raw : raw.slice(0, end);
  args.forEach((a, i) => {
    const flag = a.startsWith('--') ? a.slice(2) : '';
    if (!(flag in FLAG_RULES)) return;
    const next = args[i + 1];
    if (next === undefined || isFlagToken(next)) {
      throw new FlagValueError(flag, 'no value', describeRule((verb ? VERB_FLAG_RULES[verb]?.[flag] : undefined) ?? FLAG_RULES[flag]));
    }
  });
}

/**
 * Throws FlagValueError for the first bad numeric value in `argv` (yargs' parsed arguments of
 * `verb`). Every number (or array of numbers) is checked: NaN and infinities always fail, flags
 * in the tables must also satisfy their rule. Strings and booleans are left alone (`--no-mosaic`
 * parses to 0, so it passes). camelCase duplicates yargs adds are skipped.
 */
export function validateNumericFlags(argv: Record<string, unknown>, verb: string | undefined, raw: readonly string[] = []): void {
  refuseMissingValues(verb, raw);
  for (const [key, value] of Object.entries(argv)) {
    if (key === '_' || key === '$0' || (/[A-Z]/.test(key) && camelToKebab(key) in argv)) continue;
    const values = Array.isArray(value) ? value : [value];
    if (!values.some((v) => typeof v === 'number')) continue;
    const rule = (verb ? VERB_FLAG_RULES[verb]?.[key] : undefined) ?? FLAG_RULES[key] ?? {};
    for (const v of values) {
      if (typeof v !== 'number') continue;
      if (!satisfies(v, rule)) {
        const shown = Array.isArray(value) ? value.map(String).join(' ') : typedValue(raw, key, v);
        throw new FlagValueError(key, shown, describeRule(rule), Array.isArray(value));
      }
    }
  }
}
