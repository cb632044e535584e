#include <iostream>

#include "audit-cli/cli.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  return eldercare::cli::Run(argc, argv, std::cin, std::cout, std::cerr);
}
