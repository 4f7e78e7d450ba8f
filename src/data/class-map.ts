/**
 * Matching a model's classes to a dataset's by name, not by position: a dataset may list the same
 * classes in another order, or only some of them. Darknet's coco.names and COCO's annotation files
 * spell six classes differently ("motorbike" / "motorcycle", "tvmonitor" / "tv", ...); those are
 * treated as the same class.
 */
import { Yolo4Error } from '../util/errors.ts';
import { quoteList } from '../util/quote-list.ts';

export class ClassMappingError extends Yolo4Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassMappingError';
  }
}

export interface ClassMapping {
  /** `modelToDataset[k]`: the dataset class index of model class k, or -1 where the dataset lacks it. */
  modelToDataset: number[];
  /** `datasetToModel[j]`: the model class index of dataset class j, or -1 where the model lacks it. */
  datasetToModel: number[];
  /** Model classes the dataset does not have, in model order. */
  missingInDataset: string[];
  /** Dataset classes the model does not have, in dataset order. */
  missingInModel: string[];
  /** Same classes in the same order (what matching by position assumed). */
  identity: boolean;
}

/** Darknet/VOC spellings -> COCO's, after normalization (lower case, no spaces, '_' or '-'). */
const ALIASES: Record<string, string> = {
  motorbike: 'motorcycle',
  aeroplane: 'airplane',
  sofa: 'couch',
  tvmonitor: 'tv',
};

/** The key two spellings of one class share. */
export function classKey(name: string): string {
  const k = name.trim().toLowerCase().replace(/[\s_-]+/g, '');
  return ALIASES[k] ?? k;
}

function indexByKey(names: readonly string[], what: string): Map<string, number> {
  const index = new Map<string, number>();
  names.forEach((name, i) => {
    const key = classKey(name);
    const seen = index.get(key);
    if (seen !== undefined) {
      throw new ClassMappingError(`the ${what} names one class twice: "${names[seen]}" (${seen}) and "${name}" (${i})`);
    }
    index.set(key, i);
  });
  return index;
}

/** Maps the two class lists onto each other by name. Throws only when a list names a class twice. */
export function mapClassesByName(modelNames: readonly string[], datasetNames: readonly string[]): ClassMapping {
  const datasetIndex = indexByKey(datasetNames, 'dataset');
  const modelIndex = indexByKey(modelNames, 'model');
  const modelToDataset = modelNames.map((n) => datasetIndex.get(classKey(n)) ?? -1);
  const datasetToModel = datasetNames.map((n) => modelIndex.get(classKey(n)) ?? -1);
  const identity = modelNames.length === datasetNames.length && modelToDataset.every((j, k) => j === k);
  return {
    modelToDataset,
    datasetToModel,
    missingInDataset: modelNames.filter((_, k) => modelToDataset[k] < 0),
    missingInModel: datasetNames.filter((_, j) => datasetToModel[j] < 0),
    identity,
  };
}

/** One line for the user about a mapping that is not the identity; undefined when it is. */
export function describeClassMapping(m: ClassMapping, shown = 8): string | undefined {
  if (m.identity) return undefined;
  const list = (names: string[]) => quoteList(names, shown);
  const matched = m.datasetToModel.filter((k) => k >= 0).length;
  const parts = [`classes matched by name: ${matched} of the dataset's ${m.datasetToModel.length}`];
  if (m.missingInModel.length) parts.push(`not in the model: ${list(m.missingInModel)}`);
  if (m.missingInDataset.length) parts.push(`not in the dataset: ${list(m.missingInDataset)}`);
  if (!m.missingInModel.length && !m.missingInDataset.length) parts.push('in another order');
  return parts.join('; ');
}
