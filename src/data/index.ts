/** The data API in one import: datasets, the loader, letterboxing, the shapes generator. */
export type { Box, Dataset, DatasetFormat, DatasetItem, ReadOptions, Split, WarnFn } from './types.ts';
export { DatasetError } from './errors.ts';
export { loadDatasetConfig, openDataset, resolveDatasetConfig, type DatasetConfig, type DatasetSource } from './dataset-config.ts';
export { cocoCategoryMap, categoryIdOf, type CocoCategoryMap } from './coco-categories.ts';
export { readCoco, type CocoSource } from './coco.ts';
export { readYolo, parseYoloLabels, type YoloSource } from './yolo-txt.ts';
export { readVoc, parseVocXml, type VocSource } from './voc.ts';
export { createLoader, type Batch, type Loader, type LoaderOptions } from './loader.ts';
export { DEFAULT_AUGMENT, resolveAugment, type AugmentOptions, type AugmentSetting } from './augment-options.ts';
export type { SampleInfo } from './sample.ts';
export { letterboxFile, letterboxPlacement, placementAffine, invertAffineBoxes, type Letterboxed } from './letterbox.ts';
export { transformBoxes, flipBoxes, clipBoxes, boxesToTargets, type Affine } from './box-ops.ts';
export { decodeImage, probeImage, type RgbImage } from './image-io.ts';
export { Rng } from './prng.ts';
export { generateShapesDataset, renderShapesImage, SHAPE_CLASSES, type ShapesOptions } from './shapes.ts';
