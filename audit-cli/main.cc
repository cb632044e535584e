#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "audit-cli/cli.h"

namespace {

// For benchmarks: the process's own peak resident set (VmHWM, which exec
// resets, unlike getrusage's ru_maxrss) written where
// $ELDERCARE_PEAK_RSS_FILE says.
void ReportPeakRss() {
  const char* path = std::getenv("ELDERCARE_PEAK_RSS_FILE");
  if (path == nullptr) return;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) std::ofstream(path) << line.substr(6) << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  int code = eldercare::cli::Run(argc, argv, std::cin, std::cout, std::cerr);
  ReportPeakRss();
  return code;
}
