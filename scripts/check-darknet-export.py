#!/usr/bin/python3
"""Loads a darknet export of ours in OpenCV's DNN module and compares its three head convs (the
inputs of the [yolo] layers) with our outputs. Input: the folder scripts/check-darknet-export.ts
wrote. Never a dependency of the project (Debian's python3-opencv)."""
import sys
import numpy as np
import cv2

folder = sys.argv[1] if len(sys.argv) > 1 else '/tmp/dk-check'
net = cv2.dnn.readNetFromDarknet(f'{folder}/pruned.cfg', f'{folder}/pruned.weights')
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
names = list(net.getLayerNames())
yolo = [n for n in names if n.startswith('yolo_')]
# The head conv of each [yolo] layer: the last conv before it (OpenCV puts a permute in between).
def head_conv(y):
    i = names.index(y)
    while not names[i].startswith('conv_'):
        i -= 1
    return names[i]
heads = [head_conv(y) for y in yolo]
size = None
with open(f'{folder}/pruned.cfg') as f:
    for line in f:
        if line.startswith('width='):
            size = int(line.split('=')[1])
x = np.fromfile(f'{folder}/input.f32', dtype=np.float32).reshape(1, 3, size, size)
net.setInput(x)
outs = net.forward(heads)
print(f'OpenCV {cv2.__version__}; head convs {heads}')
worst = 0.0
for h, o in enumerate(outs):
    ours = np.fromfile(f'{folder}/head{h}.f32', dtype=np.float32).reshape(o.shape)
    d = np.abs(o - ours)
    worst = max(worst, float(d.max()))
    print(f'head {h} {list(o.shape)}: max |diff| {d.max():.3e}, mean {d.mean():.3e}, max |ours| {np.abs(ours).max():.3f}')
print(f'max difference {worst:.3e} ({"below" if worst < 5e-3 else "ABOVE"} 5e-3)')
