/**
 * How a model's images are prepared and its boxes kept, by where the model came from: YOLOv4
 * checkpoints follow the PyTorch reference (letterbox with Pillow's bicubic, best class per box);
 * darknet imports follow darknet/OpenCV (plain bilinear resize as cv2.resize, a box may count for
 * every class above the threshold), which is what reproduces their published outputs.
 */
import { inputResizeMode, type Yolov4Config } from '../model/config.ts';
import type { ResizeMode } from '../image/geometry.ts';
import type { Resampler } from '../image/letterbox.ts';

export interface InferenceDefaults {
  mode: ResizeMode;
  resampler: Resampler;
  multiLabel: boolean;
  scaleXY?: number[];
}

export function inferenceDefaults(config: Pick<Yolov4Config, 'architecture' | 'resizeMode' | 'scaleXY'>): InferenceDefaults {
  const mode = inputResizeMode(config);
  if (config.architecture === 'darknet') return { mode, resampler: 'opencv', multiLabel: true, scaleXY: config.scaleXY };
  return { mode, resampler: 'pillow', multiLabel: false, scaleXY: config.scaleXY };
}
