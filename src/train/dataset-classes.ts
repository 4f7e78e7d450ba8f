/**
 * Training on a model's classes: a dataset listing the same classes in another order, or only some
 * of them, is trained with its boxes' class ids moved to the model's indices (matched by name, see
 * data/class-map.ts). A dataset class the model lacks cannot be trained and is refused.
 */
import { ClassMappingError, describeClassMapping, mapClassesByName } from '../data/class-map.ts';
import type { Box, Dataset } from '../data/types.ts';
import { hasPlaceholderClassNames } from '../model/config.ts';
import { quoteList } from '../util/quote-list.ts';

export interface ClassesForTraining {
  /** The dataset with class ids in the model's indices and the model's class names (the same object when nothing moves). */
  dataset: Dataset;
  /** One line for the user when the classes did not match by position; undefined otherwise. */
  note?: string;
}

const show = (names: string[]) => quoteList(names, 8);

export function datasetInModelClasses(dataset: Dataset, modelNames: readonly string[]): ClassesForTraining {
  if (hasPlaceholderClassNames(modelNames) && modelNames.length === dataset.classNames.length) return { dataset };
  const mapping = mapClassesByName(modelNames, dataset.classNames);
  if (mapping.identity) return { dataset };
  if (mapping.missingInModel.length) {
    throw new ClassMappingError(
      `the dataset (${dataset.source}) has classes the model lacks: ${show(mapping.missingInModel)}; `
      + 'train a new model from a config (--config, without --weights) to adopt the dataset\'s classes, or leave those classes out of the dataset',
    );
  }
  const toModel = (b: Box): Box => ({ ...b, classId: mapping.datasetToModel[b.classId] });
  const remapped: Dataset = {
    ...dataset,
    classNames: [...modelNames],
    // Category ids follow their classes; model classes the dataset lacks have none.
    categoryIds: dataset.categoryIds ? mapping.modelToDataset.map((j) => (j >= 0 ? dataset.categoryIds![j] : -1)) : undefined,
    items: dataset.items.map((item) => ({ ...item, boxes: item.boxes.map(toModel), ignored: item.ignored?.map(toModel) })),
  };
  return { dataset: remapped, note: `${describeClassMapping(mapping)}; training in the model's class order` };
}
