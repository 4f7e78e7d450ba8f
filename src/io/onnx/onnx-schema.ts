/**
 * The part of ONNX's onnx.proto (package onnx, proto2) an exported model uses, parsed by protobufjs.
 * Message names, field names, numbers, types and labels are the spec's (onnx/onnx.proto, IR 7-10);
 * fields and messages we never write are left out, which changes nothing on the wire.
 */
import protobuf from 'protobufjs';

const ONNX_PROTO_SUBSET = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT = 2;
    STRING = 3;
    FLOATS = 6;
    INTS = 7;
  }
  optional string name = 1;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT64 = 7;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

// keepCase: the JS objects use the spec's snake_case field names.
const root = protobuf.parse(ONNX_PROTO_SUBSET, { keepCase: true }).root;

export const ModelProto = root.lookupType('onnx.ModelProto');
export const GraphProto = root.lookupType('onnx.GraphProto');
export const TensorProto = root.lookupType('onnx.TensorProto');

/** ModelProto.producer_name's field number: what tells our exports from other files. */
export const MODEL_PRODUCER_NAME_FIELD = ModelProto.fields.producer_name.id;

/** TensorProto.DataType and AttributeProto.AttributeType values, by the spec's enum names. */
export const TENSOR_DATA_TYPE = root.lookupEnum('onnx.TensorProto.DataType').values as Record<'FLOAT' | 'INT64', number>;
export const ATTRIBUTE_TYPE = root.lookupEnum('onnx.AttributeProto.AttributeType').values as Record<'FLOAT' | 'INT' | 'STRING' | 'FLOATS' | 'INTS', number>;
