/** The data API in one import: datasets, the loader, box maps, the shapes generator (image types: src/image/). */
export type { Box, Dataset, DatasetFormat, DatasetItem, ReadOptions, Split, WarnFn } from './types.ts';
export { DataError, DatasetError } from './errors.ts';
export { loadDatasetConfig, openDataset, resolveDatasetConfig, type DatasetConfig, type DatasetSource } from './dataset-config.ts';
export { cocoCategoryMap, categoryIdOf, type CocoCategoryMap } from './coco-categories.ts';
export { readCoco, type CocoSource } from './coco.ts';
export { readYolo, parseYoloLabels, type YoloSource } from './yolo-txt.ts';
export { readVoc, parseVocXml, type VocSource } from './voc.ts';
export { createLoader, type Batch, type Loader, type LoaderOptions } from './loader.ts';
export { DEFAULT_AUGMENT, resolveAugment, type AugmentOptions, type AugmentSetting } from './augment-options.ts';
export type { SampleInfo } from './sample.ts';
export { transformBoxes, invertAffineBoxes, flipBoxes, clipBoxes, boxesToTargets } from './box-ops.ts';
export { decodeImage, probeImage } from './image-files.ts';
export { Rng } from './prng.ts';
export { generateShapesDataset, renderShapesImage, SHAPE_CLASSES, type ShapesOptions } from './shapes.ts';
