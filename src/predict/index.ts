/** Prediction: decode, NMS, batch detection, the Detector, drawing, image and video prediction (letterbox: src/image/). */
export * from './decode.ts';
export * from './nms.ts';
export * from './detect.ts';
export * from './detector.ts';
export * from './draw.ts';
export * from './predict-images.ts';
export * from './video.ts';
