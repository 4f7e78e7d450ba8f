/**
 * Ground truth and detections as typed-array columns (box, area, flags, image and category index),
 * the form the per-category evaluation loops read. GT on images or categories outside the
 * evaluation is left out; detections get loadRes' area = w * h.
 */
import type { CocoDetection, CocoGroundTruth } from './coco-types.ts';

export interface GroundTruthColumns {
  n: number;
  box: Float64Array;
  area: Float64Array;
  crowd: Uint8Array;
  /** iscrowd, or the `ignore` flag when honoured. */
  ignore: Uint8Array;
  /** The annotation id is not 0 (pycocotools' matching tests the id, not the index). */
  idNonZero: Uint8Array;
  img: Int32Array;
  cat: Int32Array;
}

export interface DetectionColumns {
  n: number;
  box: Float64Array;
  area: Float64Array;
  score: Float64Array;
  img: Int32Array;
  cat: Int32Array;
}

function truthy(v: unknown): boolean {
  return v === true || (typeof v === 'number' && v !== 0);
}

export function groundTruthColumns(
  gt: CocoGroundTruth,
  imgIndex: ReadonlyMap<number, number>,
  catIndex: ReadonlyMap<number, number>,
  honorIgnore: boolean,
): GroundTruthColumns {
  const anns = gt.annotations;
  let nG = 0;
  const keepG = new Int32Array(anns.length);
  for (let i = 0; i < anns.length; i++) {
    const a = anns[i];
    if (imgIndex.has(a.image_id) && catIndex.has(a.category_id)) keepG[nG++] = i;
  }
  const gBox = new Float64Array(nG * 4);
  const gArea = new Float64Array(nG);
  const gCrowd = new Uint8Array(nG);
  const gIgn = new Uint8Array(nG);
  const gIdNZ = new Uint8Array(nG);
  const gImg = new Int32Array(nG);
  const gCat = new Int32Array(nG);
  for (let j = 0; j < nG; j++) {
    const a = anns[keepG[j]];
    const b = a.bbox;
    gBox[j * 4] = b[0]; gBox[j * 4 + 1] = b[1]; gBox[j * 4 + 2] = b[2]; gBox[j * 4 + 3] = b[3];
    gArea[j] = a.area;
    const crowd = truthy(a.iscrowd);
    gCrowd[j] = crowd ? 1 : 0;
    gIgn[j] = crowd || (honorIgnore && truthy(a.ignore)) ? 1 : 0;
    gIdNZ[j] = a.id !== 0 ? 1 : 0;
    gImg[j] = imgIndex.get(a.image_id)!;
    gCat[j] = catIndex.get(a.category_id)!;
  }
  return { n: nG, box: gBox, area: gArea, crowd: gCrowd, ignore: gIgn, idNonZero: gIdNZ, img: gImg, cat: gCat };
}

export function detectionColumns(
  dets: readonly CocoDetection[],
  imgIndex: ReadonlyMap<number, number>,
  catIndex: ReadonlyMap<number, number>,
): DetectionColumns {
  const nD = dets.length;
  const dBox = new Float64Array(nD * 4);
  const dArea = new Float64Array(nD);
  const dScore = new Float64Array(nD);
  const dImg = new Int32Array(nD);
  const dCat = new Int32Array(nD);
  for (let i = 0; i < nD; i++) {
    const d = dets[i];
    const b = d.bbox;
    dBox[i * 4] = b[0]; dBox[i * 4 + 1] = b[1]; dBox[i * 4 + 2] = b[2]; dBox[i * 4 + 3] = b[3];
    dArea[i] = b[2] * b[3];
    dScore[i] = d.score;
    const ii = imgIndex.get(d.image_id);
    const ci = catIndex.get(d.category_id);
    if (ii === undefined || ci === undefined) {
      // only reachable with skipValidation
      throw new RangeError(`detections[${i}]: image_id ${d.image_id} / category_id ${d.category_id} not in the ground truth`);
    }
    dImg[i] = ii;
    dCat[i] = ci;
  }
  return { n: nD, box: dBox, area: dArea, score: dScore, img: dImg, cat: dCat };
}
