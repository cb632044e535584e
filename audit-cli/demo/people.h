// Fake but plausible people for the demo: names, resident ID numbers (with
// a valid check digit), phones, addresses. Deterministic for a seed.
#ifndef ELDERCARE_AUDIT_CLI_DEMO_PEOPLE_H_
#define ELDERCARE_AUDIT_CLI_DEMO_PEOPLE_H_

#include <cstdint>
#include <random>
#include <string>

namespace eldercare::demo {

std::string FakeName(std::mt19937_64& rng, bool female);
// 18-character ID: region, birth date YYYYMMDD, sequence (odd for men), ISO 7064 check.
std::string FakeIdNumber(std::mt19937_64& rng, const std::string& region, int y, unsigned m, unsigned d, bool female);
std::string FakePhone(std::mt19937_64& rng);
std::string FakeAddress(std::mt19937_64& rng, const std::string& community_name);

}  // namespace eldercare::demo

#endif  // ELDERCARE_AUDIT_CLI_DEMO_PEOPLE_H_
