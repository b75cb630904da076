// Golden vectors: every proto/testdata/<name>.bin (encoded by Google's
// protoc) must decode with protobuf-c and re-encode byte for byte. The
// Swift suite checks the same files, so both languages agree on the wire.
#include "oms/proto/codec.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::string kTestdata = std::string(OMS_REPO_ROOT) + "/proto/testdata";

struct Vector {
  std::string name;
  std::string type;
};

std::vector<Vector> read_manifest() {
  std::vector<Vector> out;
  std::ifstream in(kTestdata + "/MANIFEST");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Vector v;
    ls >> v.name >> v.type;
    if (!v.name.empty()) out.push_back(v);
  }
  return out;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(GoldenVectors, ManifestIsNotEmpty) {
  EXPECT_GE(read_manifest().size(), 10u) << "MANIFEST missing or nearly empty at " << kTestdata;
}

TEST(GoldenVectors, DescriptorTableCoversGeneratedCode) {
  // Sanity-check the generated table: unique names, all in oms.v1.
  const auto all = oms::proto::all_descriptors();
  ASSERT_GE(all.size(), 20u);
  for (const auto* d : all) {
    EXPECT_EQ(std::string(d->name).rfind("oms.v1.", 0), 0u) << d->name;
    EXPECT_EQ(oms::proto::find_descriptor(d->name), d);
  }
  EXPECT_EQ(oms::proto::find_descriptor("oms.v1.NoSuchMessage"), nullptr);
}

TEST(GoldenVectors, EveryVectorRoundTripsByteIdentical) {
  const auto vectors = read_manifest();
  ASSERT_FALSE(vectors.empty());
  oms::proto::Arena arena;
  oms::proto::Encoder enc;
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.name + " (" + v.type + ")");
    const ProtobufCMessageDescriptor* desc = oms::proto::find_descriptor(v.type);
    ASSERT_NE(desc, nullptr) << "MANIFEST lists " << v.type << ", which is not in the generated code";
    const auto bytes = read_file(kTestdata + "/" + v.name + ".bin");
    // Empty .bin is legitimate (all-default message), but the file must exist.
    std::ifstream probe(kTestdata + "/" + v.name + ".bin");
    ASSERT_TRUE(probe.good()) << "missing " << v.name << ".bin";

    ProtobufCMessage* msg = oms::proto::decode(desc, bytes, arena);
    ASSERT_NE(msg, nullptr) << "protobuf-c failed to unpack";
    const auto out = enc.encode(msg);
    EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.end()), bytes) << "re-encoding differs";
    arena.reset();
  }
}

}  // namespace
