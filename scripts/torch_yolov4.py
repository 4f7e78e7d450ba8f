#!/usr/bin/python3
"""YOLOv4 in PyTorch, for speed comparisons only (never a dependency of the project).

Same architecture as src/model/yolov4.ts (CSPDarknet53 + SPP + PANet + 3 heads; conv without bias ->
BatchNorm(eps 1e-5) -> Mish / LeakyReLU(0.1); stride-2 convs pad 1 on every side; head outputs are
1x1 convs with bias), with module paths equal to the tfjs layer names (e.g.
`backbone.stages.2.blocks_conv.0.block.1.conv`). Widths come from the same resolved config as the
tfjs model (a name -> width map), so pruned or scaled variants have the same parameter count.

Used as a benchmark server by scripts/bench-vs-pytorch.ts: one JSON command per stdin line, one JSON
answer per stdout line:
  {"cmd": "info"}                                    -> torch version, threads
  {"cmd": "build", "widths": {...}, "blocks": [..], "head": 255, "threads": 2}
                                                     -> {"params": n, "bn_stats": m}
  {"cmd": "forward", "size": 416, "batch": 1}        -> {"ms": t}   (no_grad, eval mode)
  {"cmd": "train", "size": 256, "batch": 4}          -> {"ms": t}   (train mode, fwd + bwd)
  {"cmd": "quit"}
Standalone: /usr/bin/python3 scripts/torch_yolov4.py --selftest  (80 classes: 64,363,101 params)
"""
import json
import sys
import time
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

STAGE_WIDTHS = [64, 128, 256, 512, 1024]


class Mish(nn.Module):
    def forward(self, x):
        return F.mish(x)  # x * tanh(softplus(x)), PyTorch's native kernel


def conv_bn_act(widths, name, cin, k, stride=1, act='mish'):
    """`name` is the block prefix (e.g. 'backbone.conv1'); its conv is `${name}.conv`."""
    cout = widths[f'{name}.conv']
    layers = OrderedDict()
    layers['conv'] = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
    layers['bn'] = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
    if act == 'mish':
        layers['activation'] = Mish()
    else:
        layers['relu'] = nn.LeakyReLU(0.1)
    return nn.Sequential(layers), cout


class Resblock(nn.Module):
    def __init__(self, widths, p, ch):
        super().__init__()
        c0, hidden = conv_bn_act(widths, f'{p}.block.0', ch, 1)
        c1, out = conv_bn_act(widths, f'{p}.block.1', hidden, 3)
        assert out == ch, f'{p}: residual width {out} != {ch}'
        self.block = nn.Sequential(c0, c1)

    def forward(self, x):
        return x + self.block(x)


class CSPStage(nn.Module):
    def __init__(self, widths, s, n_blocks, cin):
        super().__init__()
        p = f'backbone.stages.{s}'
        self.downsample_conv, d = conv_bn_act(widths, f'{p}.downsample_conv', cin, 3, 2)
        self.split_conv0, s0 = conv_bn_act(widths, f'{p}.split_conv0', d, 1)
        self.split_conv1, s1 = conv_bn_act(widths, f'{p}.split_conv1', d, 1)
        blocks = [Resblock(widths, f'{p}.blocks_conv.{b}', s1) for b in range(n_blocks)]
        last, bn_out = conv_bn_act(widths, f'{p}.blocks_conv.{n_blocks}', s1, 1)
        self.blocks_conv = nn.Sequential(*blocks, last)
        self.concat_conv, self.out = conv_bn_act(widths, f'{p}.concat_conv', bn_out + s0, 1)

    def forward(self, x):
        x = self.downsample_conv(x)
        x0 = self.split_conv0(x)
        x1 = self.blocks_conv(self.split_conv1(x))
        return self.concat_conv(torch.cat([x1, x0], dim=1))


class Backbone(nn.Module):
    def __init__(self, widths, blocks):
        super().__init__()
        self.conv1, c = conv_bn_act(widths, 'backbone.conv1', 3, 3)
        stages = []
        for s in range(5):
            st = CSPStage(widths, s, blocks[s], c)
            c = st.out
            stages.append(st)
        self.stages = nn.ModuleList(stages)
        self.outs = [stages[2].out, stages[3].out, stages[4].out]

    def forward(self, x):
        x = self.conv1(x)
        outs = []
        for st in self.stages:
            x = st(x)
            outs.append(x)
        return outs[2], outs[3], outs[4]


class SPP(nn.Module):
    def __init__(self):
        super().__init__()
        self.maxpools = nn.ModuleList([nn.MaxPool2d(k, 1, k // 2) for k in (5, 9, 13)])

    def forward(self, x):
        feats = [mp(x) for mp in self.maxpools[::-1]]  # mp13, mp9, mp5
        return torch.cat(feats + [x], dim=1)


def seq(widths, p, cin, kernels):
    mods = []
    c = cin
    for i, k in enumerate(kernels):
        m, c = conv_bn_act(widths, f'{p}.{i}', c, k, act='leaky')
        mods.append(m)
    return nn.Sequential(*mods), c


class Upsample(nn.Module):
    def __init__(self, widths, p, cin):
        super().__init__()
        conv, self.out = conv_bn_act(widths, f'{p}.upsample.0', cin, 1, act='leaky')
        self.upsample = nn.Sequential(conv, nn.Upsample(scale_factor=2, mode='nearest'))

    def forward(self, x):
        return self.upsample(x)


def head(widths, p, cin, n_out):
    c0, c = conv_bn_act(widths, f'{p}.0', cin, 3, act='leaky')
    return nn.Sequential(c0, nn.Conv2d(c, n_out, 1, 1, 0, bias=True))


class YoloBody(nn.Module):
    def __init__(self, widths, blocks, n_out):
        super().__init__()
        self.backbone = Backbone(widths, blocks)
        c2, c1, c0 = self.backbone.outs
        self.conv1, c = seq(widths, 'conv1', c0, [1, 3, 1])
        self.SPP = SPP()
        self.conv2, p5 = seq(widths, 'conv2', 4 * c, [1, 3, 1])
        self.upsample1 = Upsample(widths, 'upsample1', p5)
        self.conv_for_P4, cp4 = conv_bn_act(widths, 'conv_for_P4', c1, 1, act='leaky')
        self.make_five_conv1, p4 = seq(widths, 'make_five_conv1', cp4 + self.upsample1.out, [1, 3, 1, 3, 1])
        self.upsample2 = Upsample(widths, 'upsample2', p4)
        self.conv_for_P3, cp3 = conv_bn_act(widths, 'conv_for_P3', c2, 1, act='leaky')
        self.make_five_conv2, p3 = seq(widths, 'make_five_conv2', cp3 + self.upsample2.out, [1, 3, 1, 3, 1])
        self.yolo_head3 = head(widths, 'yolo_head3', p3, n_out)
        self.down_sample1, d1 = conv_bn_act(widths, 'down_sample1', p3, 3, 2, act='leaky')
        self.make_five_conv3, p4b = seq(widths, 'make_five_conv3', d1 + p4, [1, 3, 1, 3, 1])
        self.yolo_head2 = head(widths, 'yolo_head2', p4b, n_out)
        self.down_sample2, d2 = conv_bn_act(widths, 'down_sample2', p4b, 3, 2, act='leaky')
        self.make_five_conv4, p5b = seq(widths, 'make_five_conv4', d2 + p5, [1, 3, 1, 3, 1])
        self.yolo_head1 = head(widths, 'yolo_head1', p5b, n_out)

    def forward(self, x):
        x2, x1, x0 = self.backbone(x)
        p5 = self.conv2(self.SPP(self.conv1(x0)))
        p4 = self.make_five_conv1(torch.cat([self.conv_for_P4(x1), self.upsample1(p5)], 1))
        p3 = self.make_five_conv2(torch.cat([self.conv_for_P3(x2), self.upsample2(p4)], 1))
        p4 = self.make_five_conv3(torch.cat([self.down_sample1(p3), p4], 1))
        p5 = self.make_five_conv4(torch.cat([self.down_sample2(p4), p5], 1))
        return self.yolo_head1(p5), self.yolo_head2(p4), self.yolo_head3(p3)


def standard_widths(width_mult=1.0):
    """Widths of the unpruned model by conv name (for --selftest; the benchmark sends its own)."""
    w = {'backbone.conv1.conv': 32}
    blocks = [1, 2, 8, 8, 4]
    for s, out in enumerate(STAGE_WIDTHS):
        p = f'backbone.stages.{s}'
        split = out if s == 0 else out // 2
        hidden = out // 2
        w[f'{p}.downsample_conv.conv'] = out
        w[f'{p}.split_conv0.conv'] = split
        w[f'{p}.split_conv1.conv'] = split
        for b in range(blocks[s]):
            w[f'{p}.blocks_conv.{b}.block.0.conv'] = hidden
            w[f'{p}.blocks_conv.{b}.block.1.conv'] = split
        w[f'{p}.blocks_conv.{blocks[s]}.conv'] = split
        w[f'{p}.concat_conv.conv'] = out
    for p, a, b in [('conv1', 512, 1024), ('conv2', 512, 1024)]:
        w[f'{p}.0.conv'], w[f'{p}.1.conv'], w[f'{p}.2.conv'] = a, b, a
    for p, a, b in [('make_five_conv1', 256, 512), ('make_five_conv2', 128, 256),
                    ('make_five_conv3', 256, 512), ('make_five_conv4', 512, 1024)]:
        for i, c in enumerate([a, b, a, b, a]):
            w[f'{p}.{i}.conv'] = c
    w.update({'upsample1.upsample.0.conv': 256, 'conv_for_P4.conv': 256, 'upsample2.upsample.0.conv': 128,
              'conv_for_P3.conv': 128, 'down_sample1.conv': 256, 'down_sample2.conv': 512,
              'yolo_head3.0.conv': 256, 'yolo_head2.0.conv': 512, 'yolo_head1.0.conv': 1024})
    return {k: max(1, round(v * width_mult)) for k, v in w.items()}, blocks


def count(model):
    params = sum(p.numel() for p in model.parameters())
    stats = sum(b.numel() for n, b in model.named_buffers() if n.endswith('running_mean') or n.endswith('running_var'))
    return params, stats


class Server:
    def __init__(self):
        self.model = None

    def handle(self, msg):
        cmd = msg['cmd']
        if cmd == 'info':
            return {'torch': torch.__version__, 'threads': torch.get_num_threads()}
        if cmd == 'build':
            if 'threads' in msg:
                torch.set_num_threads(int(msg['threads']))
            torch.manual_seed(0)
            self.model = YoloBody(msg['widths'], msg['blocks'], int(msg['head']))
            params, stats = count(self.model)
            return {'params': params, 'bn_stats': stats, 'threads': torch.get_num_threads()}
        if cmd == 'forward':
            m = self.model.eval()
            x = torch.rand(int(msg.get('batch', 1)), 3, int(msg['size']), int(msg['size']))
            with torch.no_grad():
                t0 = time.perf_counter()
                outs = m(x)
                _ = [o.sum().item() for o in outs]
                ms = (time.perf_counter() - t0) * 1000
            return {'ms': ms}
        if cmd == 'train':
            m = self.model.train()
            x = torch.rand(int(msg.get('batch', 4)), 3, int(msg['size']), int(msg['size']))
            t0 = time.perf_counter()
            m.zero_grad(set_to_none=True)
            outs = m(x)
            loss = sum((o * o).mean() for o in outs)
            loss.backward()
            _ = loss.item()
            ms = (time.perf_counter() - t0) * 1000
            return {'ms': ms}
        if cmd == 'quit':
            return None
        raise ValueError(f'unknown command {cmd}')


def main():
    if '--selftest' in sys.argv:
        w, blocks = standard_widths()
        m = YoloBody(w, blocks, 255)
        params, stats = count(m)
        print(json.dumps({'params': params, 'bn_stats': stats}))
        assert params == 64363101 and stats == 66304, (params, stats)
        outs = m.eval()(torch.rand(1, 3, 416, 416))
        print([tuple(o.shape) for o in outs])
        return
    server = Server()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            res = server.handle(json.loads(line))
        except Exception as e:  # report, keep serving
            res = {'error': f'{type(e).__name__}: {e}'}
        if res is None:
            break
        sys.stdout.write(json.dumps(res) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
