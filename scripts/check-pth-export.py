#!/usr/bin/python3
"""Loads the .pth files our export wrote into the reference PyTorch YOLOv4 and compares outputs.

The reference is bubbliiiing/yolov4-pytorch (its `nets` package); give its checkout with --ref or
YOLOV4_REF. The folder comes from scripts/write-pth-check.ts and holds model.pth (state dict),
model_whole.pth (torch.save of the whole YoloBody), input.f32, our outputs out{0,1,2}.f32, meta.json.

  /usr/bin/python3 scripts/check-pth-export.py --ref /tmp/yolov4-ref /tmp/pth-check/full

1. state dict: torch.load(weights_only=True); a reference YoloBody is narrowed to the widths the
   tensors have (a pruned model), then load_state_dict(strict=True) and a forward pass;
2. whole model: torch.load(weights_only=False) (needs the reference's `nets` importable), forward;
and prints the max |difference| of each to our outputs, and of the two to each other; and, for
scale, how far PyTorch's and our float32 outputs are from PyTorch's float64 ones.
Exits 1 when a difference exceeds --tol (default 5e-3).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn


def narrow_to(model, state_dict):
    """Replaces every conv / BN tensor by an empty one of the file's shape, so a pruned file loads."""
    modules = dict(model.named_modules())
    for key, tensor in state_dict.items():
        prefix, name = key.rsplit('.', 1)
        m = modules[prefix]
        if name in m._parameters:
            m._parameters[name] = nn.Parameter(torch.empty_like(tensor))
        elif name in m._buffers:
            m._buffers[name] = torch.empty_like(tensor)
        if isinstance(m, nn.Conv2d) and name == 'weight':
            m.out_channels, m.in_channels = tensor.shape[0], tensor.shape[1]
        elif isinstance(m, nn.BatchNorm2d) and name == 'weight':
            m.num_features = tensor.shape[0]


def forward(model, x):
    model.eval()
    with torch.no_grad():
        return [o.numpy() for o in model(x)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('folder')
    ap.add_argument('--ref', default=os.environ.get('YOLOV4_REF'), help='checkout of bubbliiiing/yolov4-pytorch')
    ap.add_argument('--tol', type=float, default=5e-3)
    args = ap.parse_args()
    if not args.ref or not os.path.isdir(os.path.join(args.ref, 'nets')):
        sys.exit('give the reference checkout (with its nets/ folder) with --ref or YOLOV4_REF')
    sys.path.insert(0, args.ref)
    from nets.yolo import YoloBody  # noqa: E402  (the reference implementation)

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    meta = json.load(open(os.path.join(args.folder, 'meta.json')))
    size = meta['size']
    x = torch.from_numpy(np.fromfile(os.path.join(args.folder, 'input.f32'), dtype='<f4').reshape(1, 3, size, size))
    ours = [np.fromfile(os.path.join(args.folder, f'out{i}.f32'), dtype='<f4') for i in range(3)]

    state_dict = torch.load(os.path.join(args.folder, 'model.pth'), map_location='cpu', weights_only=True)
    per_head = meta['anchorsPerHead']
    body = YoloBody([list(range(per_head))] * 3, meta['numClasses'])
    narrow_to(body, state_dict)
    body.load_state_dict(state_dict, strict=True)
    from_state = forward(body, x)

    whole = torch.load(os.path.join(args.folder, 'model_whole.pth'), map_location='cpu', weights_only=False)
    assert type(whole) is YoloBody, type(whole)
    from_whole = forward(whole, x)

    # float64 PyTorch on the same weights: the scale of float32 round-off in this network.
    exact = forward(whole.double(), x.double())

    params = sum(p.numel() for p in whole.parameters())
    print(f"{meta['model']}: {params} parameters (ours {meta['params']}), input {size}x{size}, torch {torch.__version__}")
    worst = 0.0
    for i in range(3):
        scale = float(np.abs(from_state[i]).max())
        d_state = float(np.abs(from_state[i].ravel() - ours[i]).max())
        d_whole = float(np.abs(from_whole[i].ravel() - ours[i]).max())
        d_both = float(np.abs(from_state[i] - from_whole[i]).max())
        torch_f32_vs_f64 = float(np.abs(from_state[i] - exact[i]).max())
        ours_vs_f64 = float(np.abs(ours[i] - exact[i].ravel()).max())
        worst = max(worst, d_state, d_whole)
        print(f'out{i} {list(from_state[i].shape)} max|out| {scale:.3g}: '
              f'state dict vs ours {d_state:.3g}, whole model vs ours {d_whole:.3g}, state dict vs whole {d_both:.3g}; '
              f'vs float64 PyTorch: PyTorch float32 {torch_f32_vs_f64:.3g}, ours {ours_vs_f64:.3g}')
    print(f'max difference {worst:.3g} (tolerance {args.tol})')
    sys.exit(0 if worst < args.tol else 1)


if __name__ == '__main__':
    main()
