import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError, Yolo4Error } from '../util/errors.ts';

/**
 * Saving and loading tfjs LayersModels as files on every backend. The pure-JS @tensorflow/tfjs has
 * no `file://` handler (only tfjs-node brings one), so this writes the standard tfjs layout itself:
 * `model.json` (modelTopology, format, generatedBy, convertedBy, weightsManifest [{paths, weights}])
 * plus `weights.bin`, or `group1-shard{i}of{n}.bin` files of 4 MB when the weights are larger, the
 * layout the tfjs converter and http loaders use. Files in that layout load with any tfjs loader.
 */

export const MODEL_JSON = 'model.json';
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface FileHandlerOptions {
  /** Largest weight file in bytes; more weights than this are split into shards. Default 4 MB. */
  shardBytes?: number;
  /** Name of the JSON file inside the directory; default model.json. */
  modelFileName?: string;
}

/** Weight files a previous save may have left (never other files: a checkpoint dir holds more). */
export const WEIGHT_FILE = /^(weights\.bin|group\d+-shard\d+of\d+\.bin)$/;

/** Bytes per element of each stored weight dtype (a quantization dtype overrides the dtype). */
const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** An IOHandler that saves to / loads from `dir` (model.json + weight files). */
export function fileSystemHandler(dir: string, opts: FileHandlerOptions = {}): tf.io.IOHandler {
  const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!(Number.isInteger(shardBytes) && shardBytes > 0)) throw new ModelFileOptionError(`shardBytes must be a positive integer, got ${shardBytes}`);
  const modelFile = opts.modelFileName ?? MODEL_JSON;
  return {
    save: (artifacts) => saveArtifacts(dir, modelFile, artifacts, shardBytes),
    load: () => loadArtifacts(dir, modelFile),
  };
}

export async function saveLayersModel(model: tf.LayersModel, dir: string, opts: FileHandlerOptions = {}): Promise<void> {
  await model.save(fileSystemHandler(dir, opts));
}

export async function loadLayersModel(dir: string, opts: { strict?: boolean } = {}): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileSystemHandler(dir), { strict: opts.strict ?? true });
}

async function saveArtifacts(
  dir: string, modelFile: string, artifacts: tf.io.ModelArtifacts, shardBytes: number,
): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new ModelFileError('fileSystemHandler saves JSON model topologies only (got a binary GraphDef)');
  }
  await fs.mkdir(dir, { recursive: true });
  const data = new tf.io.CompositeArrayBuffer(artifacts.weightData ?? []);
  const total = data.byteLength;
  const count = Math.max(1, Math.ceil(total / shardBytes));
  const paths = count === 1 ? ['weights.bin'] :
    Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  // Shards first, model.json last: a model.json on disk always has its weights complete.
  for (let i = 0; i < count; i++) {
    const chunk = data.slice(i * shardBytes, Math.min(total, (i + 1) * shardBytes));
    await fs.writeFile(path.join(dir, paths[i]), new Uint8Array(chunk));
  }
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology ?? {},
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
  };
  // Optional fields, as tfjs' own handlers write them.
  for (const key of ['trainingConfig', 'signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature'] as const) {
    if (artifacts[key] != null) (modelJson as unknown as Record<string, unknown>)[key] = artifacts[key];
  }
  await fs.writeFile(path.join(dir, modelFile), JSON.stringify(modelJson));
  // Shards of an earlier, bigger save would otherwise sit next to the new ones.
  for (const name of await fs.readdir(dir)) {
    if (WEIGHT_FILE.test(name) && !paths.includes(name)) await fs.rm(path.join(dir, name), { force: true });
  }
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

async function loadArtifacts(dir: string, modelFile: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = path.join(dir, modelFile);
  let text: string;
  try {
    text = await fs.readFile(jsonPath, 'utf8');
  } catch (e) {
    const isDir = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
    if (!isDir) throw new ModelFileError(`model directory not found: ${dir}`);
    throw new ModelFileError(`model file not found: ${jsonPath} (${(e as Error).message})`);
  }
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(text) as tf.io.ModelJSON;
  } catch (e) {
    throw new ModelFileError(`${jsonPath} is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || json.modelTopology == null) {
    throw new ModelFileError(`${jsonPath} is not a tfjs model.json: it has no modelTopology`);
  }
  const manifest = json.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new ModelFileError(`${jsonPath}: weightsManifest is not a list`);

  // Every name is checked before any file is touched: a path out of the folder must not even be stat'ed.
  manifest.forEach((group, g) => checkWeightFileNames(group, g, jsonPath));
  // Stat every file first, so the weights are read straight into one buffer of the final size.
  const groups: { files: string[]; sizes: number[] }[] = [];
  for (const group of manifest) {
    const files = group.paths.map((p) => path.join(dir, p));
    const sizes: number[] = [];
    for (const file of files) {
      // lstat: a symlink could point out of the folder.
      const st = await fs.lstat(file).catch(() => null);
      if (st === null || !st.isFile()) throw new ModelFileError(`weight file not found: ${file} (listed in ${jsonPath}; a regular file in the model directory)`);
      sizes.push(st.size);
    }
    checkGroupSize(group, files, sizes, jsonPath);
    groups.push({ files, sizes });
  }
  const total = groups.reduce((n, g) => n + g.sizes.reduce((a, b) => a + b, 0), 0);
  const weightData = new ArrayBuffer(total);
  let offset = 0;
  for (const { files, sizes } of groups) {
    for (let i = 0; i < files.length; i++) {
      await readInto(files[i], new Uint8Array(weightData, offset, sizes[i]));
      offset += sizes[i];
    }
  }
  return tf.io.getModelArtifactsForJSONSync(json, manifest.flatMap((g) => g.weights), weightData);
}

/** A tfjs model folder cannot be read or written (a missing or malformed model.json, missing or wrong-size weight files): exit 1. */
export class ModelFileError extends Yolo4Error {}

/** An impossible option of the model file handler (shardBytes not a positive integer): a usage error, exit 2. */
export class ModelFileOptionError extends UsageError {}

export class UnsafeWeightPathError extends Yolo4Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeWeightPathError';
  }
}

/**
 * Weight files must be plain names inside the model directory: no separator, no "..", not absolute,
 * no NUL. The error names only the manifest entry, never the path's target.
 */
function checkWeightFileNames(group: unknown, g: number, jsonPath: string): void {
  const paths = (group as { paths?: unknown } | null)?.paths;
  if (!Array.isArray(paths)) throw new UnsafeWeightPathError(`${jsonPath}: weightsManifest[${g}].paths is not a list`);
  paths.forEach((p: unknown, i) => {
    const plain = typeof p === 'string' && p.length > 0 && p !== '.' && p !== '..' && !/[/\\\0:]/.test(p);
    if (!plain) {
      throw new UnsafeWeightPathError(`${jsonPath}: weightsManifest[${g}].paths[${i}] is not a plain file name in the model directory; refusing to read it`);
    }
  });
}

/** A group's files must hold exactly its weights; name the file that is short. */
function checkGroupSize(
  group: tf.io.WeightsManifestConfig[number], files: string[], sizes: number[], jsonPath: string,
): void {
  let need = 0;
  for (const w of group.weights) {
    const bytes = BYTES[w.quantization?.dtype ?? w.dtype];
    if (bytes === undefined) return; // strings have no fixed size; decodeWeights checks them
    need += w.shape.reduce((a, b) => a * b, 1) * bytes;
  }
  const have = sizes.reduce((a, b) => a + b, 0);
  if (have === need) return;
  if (have > need) {
    throw new ModelFileError(`weight files ${files.join(', ')} hold ${have} bytes, but ${jsonPath} describes ${need}`);
  }
  // Every shard but the last is full size, so the first one smaller than the first is truncated.
  let short = files.length - 1;
  for (let i = 1; i < files.length - 1; i++) {
    if (sizes[i] < sizes[0]) {
      short = i;
      break;
    }
  }
  throw new ModelFileError(`weight file too short: ${files[short]} (${sizes[short]} bytes); ` +
    `the weights in ${jsonPath} need ${need} bytes, the files hold ${have}`);
}

async function readInto(file: string, view: Uint8Array): Promise<void> {
  const fh = await fs.open(file, 'r');
  try {
    let done = 0;
    while (done < view.length) {
      const { bytesRead } = await fh.read(view, done, view.length - done, done);
      if (bytesRead === 0) throw new ModelFileError(`weight file ${file} ended after ${done} of ${view.length} bytes`);
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

let schemeRegistered = false;
let probing = false;

/**
 * Makes `model.save('file://dir')` and `tf.loadLayersModel('file://dir/model.json')` work on the
 * pure-JS build. When another handler answers the URL (tfjs-node brings one), ours steps aside, so
 * tfjs never sees two handlers for one URL (which it refuses).
 */
export function registerFileScheme(): void {
  if (schemeRegistered) return;
  schemeRegistered = true;
  const route = (forSave: boolean) => (url: string | string[]): tf.io.IOHandler | null => {
    if (probing || typeof url !== 'string' || !url.startsWith('file://')) return null;
    probing = true;
    try {
      const others = forSave ? tf.io.getSaveHandlers(url) : tf.io.getLoadHandlers(url);
      if (others.length > 0) return null;
    } finally {
      probing = false;
    }
    const p = url.slice('file://'.length);
    return p.endsWith('.json') ?
      fileSystemHandler(path.dirname(p), { modelFileName: path.basename(p) }) :
      fileSystemHandler(p);
  };
  // tfjs types routers as always returning a handler, but its registry skips null answers.
  type Router = Parameters<typeof tf.io.registerSaveRouter>[0];
  tf.io.registerSaveRouter(route(true) as Router);
  tf.io.registerLoadRouter(route(false) as Router);
}
