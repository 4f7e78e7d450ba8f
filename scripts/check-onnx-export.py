#!/usr/bin/python3
"""Validates .onnx files (e.g. from `yolo4 export-onnx`) with the onnx package's own checker.

    /usr/bin/python3 scripts/check-onnx-export.py model.onnx [more.onnx ...]

For each file: onnx.checker.check_model(path, full_check=True) (the schema, every node against its
operator's opset, and shape inference), then the IR version, opsets, producer, inputs and outputs
with their shapes, metadata keys, and operator counts. Exit status 1 if any file fails.
A checker older than the file's opset (onnx 1.12 knows opsets up to 17) reports that as a failure.
"""
import collections
import sys

import onnx


def shape_of(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return "[" + ", ".join(d.dim_param or str(d.dim_value) if d.HasField("dim_value") or d.dim_param else "?" for d in dims) + "]"


def elem_type_name(value_info):
    return onnx.TensorProto.DataType.Name(value_info.type.tensor_type.elem_type)


def describe(path):
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path)
    graph = model.graph
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    print(f"{path}: OK (onnx {onnx.__version__} checker, full_check)")
    print(f"  ir_version {model.ir_version}; opset {opsets}; producer {model.producer_name!r}")
    for v in graph.input:
        print(f"  input  {v.name}: {elem_type_name(v)} {shape_of(v)}")
    for v in graph.output:
        print(f"  output {v.name}: {elem_type_name(v)} {shape_of(v)}")
    weights = sum(t.ByteSize() for t in graph.initializer)
    print(f"  {len(graph.node)} nodes, {len(graph.initializer)} initializers ({weights / 2**20:.1f} MiB)")
    ops = collections.Counter(n.op_type for n in graph.node)
    print("  ops: " + ", ".join(f"{op} {count}" for op, count in sorted(ops.items())))
    print("  metadata: " + ", ".join(p.key for p in model.metadata_props))


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        try:
            describe(path)
        except Exception as e:  # the checker's ValidationError, or a file that does not parse
            failed += 1
            print(f"{path}: FAILED: {type(e).__name__}: {e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
