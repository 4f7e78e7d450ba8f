/** Images in one import: decode, the RGB types, placement geometry, letterbox / resize, the resamplers. */
export * from './rgb.ts';
export * from './decode.ts';
export * from './geometry.ts';
export * from './letterbox.ts';
export * from './resample-pillow.ts';
export * from './resample-opencv.ts';
