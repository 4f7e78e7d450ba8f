/**
 * Learning-rate schedules as pure functions of the global step, so a resumed run lands on exactly
 * the same value it would have had without the interruption.
 *
 * warm-up: linear from warmupStartFactor*lr0 to lr0 over `warmupSteps` (the reference warms up
 *          quadratically for a few epochs; linear is the common choice and is documented here);
 * cosine:  from lr0 down to lrMin at `totalSteps - flatSteps`, then flat at lrMin (the reference
 *          keeps the last epochs at the minimum);
 * step:    lr0 * gamma^(number of milestones passed).
 */
export interface LrSchedule {
  kind: 'cosine' | 'step' | 'constant';
  lr0: number;
  lrMin: number;
  totalSteps: number;
  warmupSteps: number;
  warmupStartFactor: number;
  flatSteps: number;
  milestones: number[];
  gamma: number;
}

export function learningRateAt(s: LrSchedule, step: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) {
    const f = s.warmupStartFactor + (1 - s.warmupStartFactor) * (step / s.warmupSteps);
    return s.lr0 * f;
  }
  if (s.kind === 'constant') return s.lr0;
  if (s.kind === 'step') {
    const passed = s.milestones.filter((m) => step >= m).length;
    return s.lr0 * s.gamma ** passed;
  }
  const decaySteps = Math.max(1, s.totalSteps - s.flatSteps - s.warmupSteps);
  const t = Math.min(1, (step - s.warmupSteps) / decaySteps);
  return s.lrMin + 0.5 * (s.lr0 - s.lrMin) * (1 + Math.cos(Math.PI * t));
}

/**
 * The reference scales lr by batch size relative to a nominal batch of 64 and clamps it: SGD to
 * [5e-4, 5e-2] for the start lr (1/100 of that for the minimum), Adam to [3e-4, 1e-3].
 */
export function scaleLrForBatch(lr0: number, lrMin: number, batchSize: number, optimizer: 'sgd' | 'adam', nominalBatch = 64):
{ lr0: number; lrMin: number } {
  const [lo, hi] = optimizer === 'adam' ? [3e-4, 1e-3] : [5e-4, 5e-2];
  const f = batchSize / nominalBatch;
  return {
    lr0: Math.min(Math.max(f * lr0, lo), hi),
    lrMin: Math.min(Math.max(f * lrMin, lo * 1e-2), hi * 1e-2),
  };
}
