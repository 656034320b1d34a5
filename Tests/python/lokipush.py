"""Loki push bodies built with the real protobuf runtime (message types defined from a descriptor, so no
protoc is needed) and the cramjam snappy implementation: an independent encoder to check our decoder."""
import gzip
import json
import zlib

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, timestamp_pb2
from google.protobuf import message_factory

F = descriptor_pb2.FieldDescriptorProto


def _file():
    fd = descriptor_pb2.FileDescriptorProto(name="push_test.proto", package="logproto", syntax="proto3",
                                            dependency=["google/protobuf/timestamp.proto"])
    lp = fd.message_type.add(name="LabelPairAdapter")
    lp.field.add(name="name", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    lp.field.add(name="value", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    en = fd.message_type.add(name="EntryAdapter")
    en.field.add(name="timestamp", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                 type_name=".google.protobuf.Timestamp")
    en.field.add(name="line", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    en.field.add(name="structuredMetadata", number=3, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                 type_name=".logproto.LabelPairAdapter")
    st = fd.message_type.add(name="StreamAdapter")
    st.field.add(name="labels", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    st.field.add(name="entries", number=2, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                 type_name=".logproto.EntryAdapter")
    st.field.add(name="hash", number=3, type=F.TYPE_UINT64, label=F.LABEL_OPTIONAL)
    pr = fd.message_type.add(name="PushRequest")
    pr.field.add(name="streams", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                 type_name=".logproto.StreamAdapter")
    return fd


_pool = descriptor_pool.DescriptorPool()
_pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
_pool.Add(_file())
PushRequest = message_factory.GetMessageClass(_pool.FindMessageTypeByName("logproto.PushRequest"))


def protobuf_body(streams):
    """streams: list of (labels_text, [(ns, line, {metadata})])"""
    req = PushRequest()
    for labels, entries in streams:
        s = req.streams.add(labels=labels)
        for entry in entries:
            ns, line = entry[0], entry[1]
            e = s.entries.add(line=line)
            e.timestamp.seconds = ns // 1_000_000_000
            e.timestamp.nanos = ns % 1_000_000_000
            for k, v in (entry[2] if len(entry) > 2 else {}).items():
                e.structuredMetadata.add(name=k, value=v)
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))


def json_body(streams, encoding=None):
    """streams: list of (label_dict, [(ns, line, {metadata})]); returns (body, headers)."""
    doc = {"streams": [
        {"stream": labels,
         "values": [[str(e[0]), e[1]] + ([e[2]] if len(e) > 2 and e[2] else []) for e in entries]}
        for labels, entries in streams]}
    body = json.dumps(doc).encode()
    headers = {"Content-Type": "application/json"}
    if encoding == "gzip":
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    elif encoding == "deflate":
        body = zlib.compress(body)
        headers["Content-Encoding"] = "deflate"
    return body, headers
