import './_backend.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveTrainSettings, DEFAULT_FINETUNE_SETTINGS } from '../src/train/settings.ts';
import { fitEpochDefaults } from '../src/train/epoch-defaults.ts';

test('--epochs 1 with the 300-epoch recipe: freeze, warm-up and flat epochs scaled by 1/300, said in one line', () => {
  const s = resolveTrainSettings({ epochs: 1 });
  const { settings, notes } = fitEpochDefaults(s, new Set(['epochs']), 300);
  // 50/300 of one epoch is no whole epoch; 3/300 and 15/300 are 0.01 and 0.05 epochs.
  assert.is(settings.freezeEpochs, 0);
  assert.is(settings.warmupEpochs, 0.01);
  assert.is(settings.flatEpochs, 0.05);
  assert.is(notes.length, 1, notes.join(' | '));
  assert.match(notes[0], '--freeze-epochs 50 -> 0');
  assert.is(s.freezeEpochs, 50, 'the input settings are not modified');
});

test('--epochs 30: proportional (freeze 5, warm-up 0.3, flat 1.5); 300 epochs or more: unchanged, no note', () => {
  const { settings } = fitEpochDefaults(resolveTrainSettings({ epochs: 30 }), new Set(['epochs']), 300);
  assert.equal([settings.freezeEpochs, settings.warmupEpochs, settings.flatEpochs], [5, 0.3, 1.5]);
  const full = fitEpochDefaults(resolveTrainSettings({ epochs: 300 }), new Set(['epochs']), 300);
  assert.equal([full.settings.freezeEpochs, full.settings.warmupEpochs, full.settings.flatEpochs], [50, 3, 15]);
  assert.equal(full.notes, []);
});

test('explicit values are kept, with a warning when they reach the end of the run', () => {
  const s = resolveTrainSettings({ epochs: 2, freezeEpochs: 50, milestones: [1, 5] });
  const { settings, notes } = fitEpochDefaults(s, new Set(['epochs', 'freezeEpochs', 'milestones']), 300);
  assert.is(settings.freezeEpochs, 50);
  assert.equal(settings.milestones, [1, 5]);
  assert.ok(notes.some((n) => n.startsWith('warning: --freeze-epochs 50 >= --epochs 2') && n.includes('frozen for the whole run')), notes.join(' | '));
  assert.ok(notes.some((n) => n.startsWith('warning: --milestones 1 5')), notes.join(' | '));
  // The defaults not given are still scaled.
  assert.is(settings.warmupEpochs, 0.02);
});

test('finetune defaults (20 epochs, nothing frozen or warmed up) need no scaling', () => {
  const s = resolveTrainSettings(DEFAULT_FINETUNE_SETTINGS, { epochs: 3 });
  const { settings, notes } = fitEpochDefaults(s, new Set(['epochs']), 20);
  assert.equal(settings, s);
  assert.equal(notes, []);
});

test.run();
