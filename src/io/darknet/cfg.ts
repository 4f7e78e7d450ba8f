/**
 * Darknet `.cfg` files: parsing (with line numbers for every error), typed option access, and writing
 * back with some values changed (the original text is patched line by line, so comments, order and
 * every training option survive).
 *
 * Syntax as darknet's read_cfg: whitespace anywhere in a line is ignored, `[type]` starts a section,
 * lines starting with `#` or `;` are comments, everything else is `key=value`. The first section is
 * `[net]` (or `[network]`); every later section is a layer, numbered from 0 (the index that `[route]`
 * and `[shortcut]` refer to).
 *
 * Keys are checked against what darknet (AlexeyAB) reads for each section: a key darknet does not know
 * is an error (darknet would silently ignore a typo), and so is a key whose value this importer cannot
 * reproduce (e.g. `dilation=2`, `antialiasing=1`). Training-only keys are kept and ignored.
 */
import { Yolo4Error } from '../../util/errors.ts';

export class DarknetCfgError extends Yolo4Error {
  constructor(message: string) {
    super(message);
    this.name = 'DarknetCfgError';
  }
}

export type SectionType =
  | 'net' | 'convolutional' | 'shortcut' | 'route' | 'upsample' | 'maxpool' | 'dropout' | 'yolo';

export interface CfgOption {
  key: string;
  value: string;
  /** 1-based line number. */
  line: number;
}

export interface CfgSection {
  type: SectionType;
  /** The header as written, e.g. `[conv]`. */
  header: string;
  line: number;
  /** Darknet layer index (-1 for [net]). */
  index: number;
  options: CfgOption[];
}

export interface DarknetCfg {
  /** For error messages: the file name or 'cfg'. */
  source: string;
  text: string;
  net: CfgSection;
  layers: CfgSection[];
}

const ALIASES: Record<string, SectionType> = {
  net: 'net', network: 'net',
  convolutional: 'convolutional', conv: 'convolutional',
  shortcut: 'shortcut', route: 'route', upsample: 'upsample',
  maxpool: 'maxpool', max: 'maxpool',
  dropout: 'dropout', yolo: 'yolo',
};

/** Sections darknet has that this importer does not build. */
const UNSUPPORTED_SECTIONS = new Set([
  'scale_channels', 'sam', 'crop', 'cost', 'detection', 'region', 'Gaussian_yolo', 'local', 'activation', 'crnn',
  'gru', 'lstm', 'conv_lstm', 'history', 'rnn', 'conn', 'connected', 'local_avg', 'local_avgpool', 'reorg3d', 'reorg',
  'avg', 'avgpool', 'lrn', 'normalization', 'batchnorm', 'soft', 'softmax', 'contrastive', 'empty', 'silence', 'implicit',
]);

/** Keys darknet reads in every layer section (parse_network_cfg_custom). */
const LAYER_COMMON = [
  'clip', 'onlyforward', 'dont_update', 'burnin_update', 'stopbackward', 'train_only_bn', 'dontload', 'dontloadscales',
  'learning_rate', 'stream', 'wait_stream',
];

const KEYS: Record<SectionType, Set<string>> = {
  net: new Set([
    'max_batches', 'batch', 'learning_rate', 'learning_rate_min', 'sgdr_cycle', 'sgdr_mult', 'momentum', 'decay',
    'subdivisions', 'time_steps', 'track', 'augment_speed', 'sequential_subdivisions', 'try_fix_nan',
    'weights_reject_freq', 'equidistant_point', 'badlabels_rejection_percentage', 'num_sigmas_reject_badlabels',
    'ema_alpha', 'use_cuda_graph', 'loss_scale', 'dynamic_minibatch', 'optimized_memory', 'workspace_size_limit_MB',
    'adam', 'B1', 'B2', 'eps', 'height', 'width', 'channels', 'inputs', 'max_crop', 'min_crop', 'flip', 'blur',
    'gaussian_noise', 'mixup', 'cutmix', 'mosaic', 'letter_box', 'mosaic_bound', 'contrastive', 'contrastive_jit_flip',
    'contrastive_color', 'unsupervised', 'label_smooth_eps', 'resize_step', 'attention', 'adversarial_lr',
    'max_chart_loss', 'angle', 'aspect', 'saturation', 'exposure', 'hue', 'power', 'policy', 'burn_in', 'step',
    'scale', 'steps', 'scales', 'seq_scales', 'gamma', 'show_receptive_field', 'center', 'random',
  ]),
  convolutional: new Set([
    'filters', 'groups', 'size', 'stride', 'stride_x', 'stride_y', 'dilation', 'antialiasing', 'pad', 'padding',
    'activation', 'assisted_excitation', 'share_index', 'batch_normalize', 'cbn', 'binary', 'xnor', 'bin_output',
    'sway', 'rotate', 'stretch', 'stretch_sway', 'flipped', 'dot', 'angle', 'grad_centr', 'reverse', 'coordconv',
    ...LAYER_COMMON,
  ]),
  shortcut: new Set(['from', 'activation', 'weights_type', 'weights_normalization', ...LAYER_COMMON]),
  route: new Set(['layers', 'groups', 'group_id', ...LAYER_COMMON]),
  upsample: new Set(['stride', 'scale', ...LAYER_COMMON]),
  maxpool: new Set([
    'size', 'stride', 'stride_x', 'stride_y', 'padding', 'maxpool_depth', 'out_channels', 'antialiasing',
    'maxpool_zero_nonmax', ...LAYER_COMMON,
  ]),
  dropout: new Set(['probability', 'dropblock', 'dropblock_size_rel', 'dropblock_size_abs', ...LAYER_COMMON]),
  yolo: new Set([
    'classes', 'num', 'mask', 'max', 'show_details', 'max_delta', 'counters_per_class', 'label_smooth_eps',
    'scale_x_y', 'objectness_smooth', 'new_coords', 'iou_normalizer', 'obj_normalizer', 'cls_normalizer',
    'delta_normalizer', 'iou_loss', 'iou_thresh_kind', 'beta_nms', 'nms_kind', 'jitter', 'resize', 'focal_loss',
    'ignore_thresh', 'truth_thresh', 'iou_thresh', 'random', 'track_history_size', 'sim_thresh', 'dets_for_track',
    'dets_for_show', 'track_ciou_norm', 'embedding_layer', 'map', 'anchors', ...LAYER_COMMON,
  ]),
};

const INT32_MAX = 2 ** 31 - 1;

export const SUPPORTED_SECTIONS = ['net', 'convolutional', 'shortcut', 'route', 'upsample', 'maxpool', 'dropout', 'yolo'];

/** `source:line: message`. */
export function at(source: string, line: number, message: string): DarknetCfgError {
  return new DarknetCfgError(`${source}:${line}: ${message}`);
}

export function parseDarknetCfg(text: string, source = 'cfg'): DarknetCfg {
  const lines = text.split(/\r\n|\n|\r/);
  const sections: CfgSection[] = [];
  let current: CfgSection | null = null;
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.replace(/\s+/g, '');
    if (line === '' || line[0] === '#' || line[0] === ';') return;
    if (line[0] === '[') {
      const m = /^\[([^\]]+)\]$/.exec(line);
      if (!m) throw at(source, lineNo, `malformed section header "${raw.trim()}" (expected e.g. [convolutional])`);
      const name = m[1];
      const type = ALIASES[name];
      if (!type) {
        if (UNSUPPORTED_SECTIONS.has(name)) {
          throw at(source, lineNo, `section [${name}] is a darknet layer this importer does not support (supported: ${SUPPORTED_SECTIONS.map((s) => `[${s}]`).join(', ')})`);
        }
        throw at(source, lineNo, `unknown section [${name}] (supported: ${SUPPORTED_SECTIONS.map((s) => `[${s}]`).join(', ')})`);
      }
      if (sections.length === 0 && type !== 'net') throw at(source, lineNo, `the first section must be [net], got [${name}]`);
      if (sections.length > 0 && type === 'net') throw at(source, lineNo, `[${name}] may only be the first section (first one at line ${sections[0].line})`);
      current = { type, header: `[${name}]`, line: lineNo, index: sections.length - 1, options: [] };
      sections.push(current);
      return;
    }
    if (!current) throw at(source, lineNo, `"${raw.trim()}" comes before the first section ([net])`);
    const eq = line.indexOf('=');
    if (eq <= 0) throw at(source, lineNo, `expected key=value, got "${raw.trim()}"`);
    const key = line.slice(0, eq);
    // darknet stops number lists at '#'; do the same for every value.
    const hash = line.indexOf('#', eq + 1);
    const value = line.slice(eq + 1, hash < 0 ? undefined : hash);
    const sec: CfgSection = current;
    if (!KEYS[sec.type].has(key)) {
      const known = [...KEYS[sec.type]];
      // editDistance is quadratic: only for keys whose length could be within 2 edits.
      const near = known.filter((k) => k.includes(key) || key.includes(k) || (Math.abs(k.length - key.length) <= 2 && editDistance(k, key) <= 2)).slice(0, 3);
      throw at(source, lineNo, `unknown key "${key}" in ${sec.header}${sec.index >= 0 ? ` (layer ${sec.index})` : ''}` +
        (near.length ? `; did you mean ${near.map((k) => `"${k}"`).join(' or ')}?` : sec.type === 'net' ? '' : `; known keys: ${known.join(', ')}`));
    }
    const dup = sec.options.find((o) => o.key === key);
    if (dup) throw at(source, lineNo, `"${key}" is set twice in ${sec.header} (first at line ${dup.line})`);
    sec.options.push({ key, value, line: lineNo });
  });
  if (sections.length === 0) throw new DarknetCfgError(`${source}: no sections (expected [net] then layers)`);
  const [net, ...layers] = sections;
  if (layers.length === 0) throw at(source, net.line, 'the cfg has a [net] section but no layers');
  return { source, text, net, layers };
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** Typed access to one section's options; errors name the file, line, section and key. */
export class SectionReader {
  constructor(readonly cfg: DarknetCfg, readonly section: CfgSection) {}

  get where(): string {
    return `${this.section.header}${this.section.index >= 0 ? ` (layer ${this.section.index})` : ''}`;
  }

  option(key: string): CfgOption | undefined {
    return this.section.options.find((o) => o.key === key);
  }

  has(key: string): boolean {
    return this.option(key) !== undefined;
  }

  error(message: string, key?: string): DarknetCfgError {
    const line = (key && this.option(key)?.line) || this.section.line;
    return at(this.cfg.source, line, `${this.where}: ${message}`);
  }

  str(key: string, fallback: string): string;
  str(key: string): string | undefined;
  str(key: string, fallback?: string): string | undefined {
    return this.option(key)?.value ?? fallback;
  }

  /** darknet reads ints with atoi; a value that is not an integer is an error here. */
  int(key: string, fallback: number): number {
    const o = this.option(key);
    if (!o) return fallback;
    if (!/^[+-]?\d+$/.test(o.value)) throw this.error(`${key}=${o.value} is not an integer`, key);
    const v = Number(o.value);
    // darknet reads a C int; anything wider is a typo or an attack, not a value it could use.
    if (Math.abs(v) > INT32_MAX) throw this.error(`${key}=${o.value} is out of range (at most ${INT32_MAX})`, key);
    return v;
  }

  float(key: string, fallback: number): number {
    const o = this.option(key);
    if (!o) return fallback;
    const v = Number(o.value);
    if (o.value === '' || !Number.isFinite(v)) throw this.error(`${key}=${o.value} is not a number`, key);
    return v;
  }

  ints(key: string): number[] | undefined {
    const o = this.option(key);
    if (!o) return undefined;
    const parts = o.value.split(',').filter((p) => p !== '');
    if (parts.length === 0 || parts.some((p) => !/^[+-]?\d+$/.test(p))) throw this.error(`${key}=${o.value} is not a list of integers`, key);
    const vals = parts.map(Number);
    if (vals.some((v) => Math.abs(v) > INT32_MAX)) throw this.error(`${key}=${o.value} has a value out of range (at most ${INT32_MAX})`, key);
    return vals;
  }

  floats(key: string): number[] | undefined {
    const o = this.option(key);
    if (!o) return undefined;
    const parts = o.value.split(',').filter((p) => p !== '');
    const vals = parts.map(Number);
    if (parts.length === 0 || vals.some((v) => !Number.isFinite(v))) throw this.error(`${key}=${o.value} is not a list of numbers`, key);
    return vals;
  }

  /** A key whose only supported value is `expected` (e.g. dilation=1). */
  require(key: string, expected: number, why: string): void {
    const o = this.option(key);
    if (!o) return;
    const v = Number(o.value);
    if (v !== expected) throw this.error(`${key}=${o.value} is not supported (${why}); only ${key}=${expected}`, key);
  }
}

/** A value change for writeDarknetCfg: set `key` of the section with this layer index (-1: [net]). */
export interface CfgEdit {
  index: number;
  key: string;
  value: string | number;
}

/**
 * The cfg text with some values changed. Existing keys are replaced on their own line (keeping the
 * line's indentation and spacing around '='); missing keys are inserted right after the header.
 */
export function writeDarknetCfg(cfg: DarknetCfg, edits: CfgEdit[]): string {
  const lines = cfg.text.split(/\r\n|\n|\r/);
  const eol = cfg.text.includes('\r\n') ? '\r\n' : '\n';
  const inserts = new Map<number, string[]>(); // after line (1-based) -> new lines
  const sectionOf = (index: number) => (index < 0 ? cfg.net : cfg.layers[index]);
  for (const e of edits) {
    const sec = sectionOf(e.index);
    if (!sec) throw new DarknetCfgError(`${cfg.source}: no layer ${e.index} to edit`);
    const value = String(e.value);
    const opt = sec.options.find((o) => o.key === e.key);
    if (opt) {
      const raw = lines[opt.line - 1];
      const m = /^(\s*[^=]*=\s*)([^#;]*?)(\s*([#;].*)?)$/.exec(raw);
      lines[opt.line - 1] = m ? `${m[1]}${value}${m[3]}` : `${e.key}=${value}`;
    } else {
      const list = inserts.get(sec.line) ?? [];
      list.push(`${e.key}=${value}`);
      inserts.set(sec.line, list);
    }
  }
  const out: string[] = [];
  lines.forEach((l, i) => {
    out.push(l);
    const add = inserts.get(i + 1);
    if (add) out.push(...add);
  });
  return out.join(eol);
}
