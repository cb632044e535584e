#include "audit-cli/demo/people.h"

#include <cstdio>
#include <vector>

namespace eldercare::demo {
namespace {

const std::vector<std::string> kSurnames = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
                                            "马", "朱", "胡", "郭", "何", "林", "高", "罗", "郑", "梁", "谢", "宋"};
const std::vector<std::string> kFemale = {"秀英", "桂英", "秀兰", "玉兰", "桂兰", "秀珍", "凤英", "玉珍", "玉英",
                                          "兰英", "淑珍", "玉梅", "桂芳", "秀云", "凤兰", "素珍", "淑兰", "桂珍"};
const std::vector<std::string> kMale = {"建国", "建华", "国强", "志明", "德明", "永福", "国华", "德福", "文华",
                                        "振华", "长青", "树林", "明德", "玉林", "宝山", "金山", "学文", "宏伟"};
const std::vector<std::string> kStreets = {"人民路", "朝阳街", "新华路", "胜利街", "建设路", "工人街", "团结路",
                                           "长城路", "游艺街", "青山路", "沙湖路", "民族街"};

}  // namespace

std::string FakeName(std::mt19937_64& rng, bool female) {
  const auto& given = female ? kFemale : kMale;
  // One draw per statement: the order in which a call's operands are
  // evaluated is unspecified, and the same seed must give the same district
  // whichever compiler built the program.
  const auto& surname = kSurnames[rng() % kSurnames.size()];
  return surname + given[rng() % given.size()];
}

std::string FakeIdNumber(std::mt19937_64& rng, const std::string& region, int y, unsigned m, unsigned d, bool female) {
  char body[18];
  unsigned seq = static_cast<unsigned>(rng() % 500) * 2 + (female ? 0 : 1);
  std::snprintf(body, sizeof body, "%s%04d%02u%02u%03u", region.c_str(), y, m, d, seq);
  static const int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const char kCheck[] = "10X98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (body[i] - '0') * kWeights[i];
  return std::string(body, 17) + kCheck[sum % 11];
}

std::string FakePhone(std::mt19937_64& rng) {
  static const char* kPrefixes[] = {"138", "139", "135", "150", "186", "133", "152"};
  char buf[16];
  const char* prefix = kPrefixes[rng() % 7];
  auto number = static_cast<unsigned>(rng() % 100000000);
  std::snprintf(buf, sizeof buf, "%s%08u", prefix, number);
  return buf;
}

std::string FakeAddress(std::mt19937_64& rng, const std::string& community_name) {
  const auto& street = kStreets[rng() % kStreets.size()];
  auto number = 1 + rng() % 200;
  auto unit = 1 + rng() % 6;
  auto room = 101 + rng() % 600;
  return "宁夏石嘴山市大武口区" + community_name + street + std::to_string(number) + "号" + std::to_string(unit) + "单元" +
         std::to_string(room) + "室";
}

}  // namespace eldercare::demo
