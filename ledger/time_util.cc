#include "ledger/time_util.h"

#include <chrono>
#include <cstdio>

namespace eldercare {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

int32_t DaysFromCivil(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return static_cast<int32_t>(sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count());
}

void CivilFromDays(int32_t days, int* y, unsigned* m, unsigned* d) {
  using namespace std::chrono;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  *y = static_cast<int>(ymd.year());
  *m = static_cast<unsigned>(ymd.month());
  *d = static_cast<unsigned>(ymd.day());
}

Result<int32_t> ParseDate(std::string_view text) {
  int y, m, d;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !Digits(text, 0, 4, &y) ||
      !Digits(text, 5, 2, &m) || !Digits(text, 8, 2, &d)) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not a date of the form YYYY-MM-DD");
  }
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || y == 0) return Status::InvalidArgument("'" + std::string(text) + "' is not a calendar date");
  return DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

namespace {
// `width` decimal digits of `v` at `at`, zero-padded: dates and times are
// formatted for every entry an export or `log --json` shows, where printf's
// machinery was a tenth of the time.
void PutDigits(char* at, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i, v /= 10) at[i] = static_cast<char>('0' + v % 10);
}
}  // namespace

std::string FormatDate(int32_t days) {
  if (!DayInRange(days)) return "out of range (day " + std::to_string(days) + ")";
  int y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  std::string out = "0000-00-00";  // a year in range has four digits
  PutDigits(&out[0], static_cast<uint64_t>(y), 4);
  PutDigits(&out[5], m, 2);
  PutDigits(&out[8], d, 2);
  return out;
}

Result<int64_t> ParseTimestamp(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not an RFC 3339 time such as 2024-03-01T08:30:00+08:00");
  };
  if (text.size() < 20 || (text[10] != 'T' && text[10] != 't')) return bad();
  auto date = ParseDate(text.substr(0, 10));
  if (!date.ok()) return bad();
  int hh, mm, ss;
  if (!Digits(text, 11, 2, &hh) || text[13] != ':' || !Digits(text, 14, 2, &mm) || text[16] != ':' ||
      !Digits(text, 17, 2, &ss) || hh > 23 || mm > 59 || ss > 59) {
    return bad();
  }
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n == 6) return bad();
      frac = frac * 10 + (text[pos] - '0');
      ++pos, ++n;
    }
    if (n == 0) return bad();
    while (n++ < 6) frac *= 10;
  }
  int offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!Digits(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !Digits(text, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad();
    }
    offset = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  int64_t secs = int64_t{*date} * 86400 + hh * 3600 + mm * 60 + ss - int64_t{offset} * 60;
  return secs * kMicrosPerSecond + frac;
}

std::string FormatTimestampOffset(int64_t micros, int offset_minutes) {
  // Found by the envelope fuzz target: near the ends of int64 the shift to
  // local time overflowed.
  if (!MicrosInRange(micros)) return "out of range (" + std::to_string(micros) + " us)";
  int64_t local = micros + int64_t{offset_minutes} * 60 * kMicrosPerSecond;
  int64_t days = FloorDiv(local, kMicrosPerDay);
  int64_t rem = local - days * kMicrosPerDay;
  int64_t secs = rem / kMicrosPerSecond, frac = rem % kMicrosPerSecond;
  std::string out = FormatDate(static_cast<int32_t>(days));
  char clock[16] = "T00:00:00.";  // then six digits of the fraction
  PutDigits(clock + 1, static_cast<uint64_t>(secs / 3600), 2);
  PutDigits(clock + 4, static_cast<uint64_t>(secs / 60 % 60), 2);
  PutDigits(clock + 7, static_cast<uint64_t>(secs % 60), 2);
  size_t n = 9;
  if (frac != 0) {
    PutDigits(clock + 10, static_cast<uint64_t>(frac), 6);
    n = 16;
    while (clock[n - 1] == '0') --n;
  }
  out.append(clock, n);
  char buf[32];
  if (offset_minutes == 0) {
    out += "Z";
  } else {
    int a = offset_minutes < 0 ? -offset_minutes : offset_minutes;
    std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', a / 60, a % 60);
    out += buf;
  }
  return out;
}

std::string FormatTimestamp(int64_t micros) { return FormatTimestampOffset(micros, 0); }

int YearsBetween(int32_t birth, int32_t on) {
  int by, oy;
  unsigned bm, bd, om, od;
  CivilFromDays(birth, &by, &bm, &bd);
  CivilFromDays(on, &oy, &om, &od);
  int years = oy - by;
  if (om < bm || (om == bm && od < bd)) --years;
  return years;
}

Result<int32_t> ParseMonth(std::string_view text) {
  int y, m;
  if (text.size() != 7 || text[4] != '-' || !Digits(text, 0, 4, &y) || !Digits(text, 5, 2, &m) || m < 1 ||
      m > 12) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not a month of the form YYYY-MM");
  }
  return (y - 1970) * 12 + (m - 1);
}

std::string FormatMonth(int32_t month) {
  int32_t y = static_cast<int32_t>(FloorDiv(month, 12)) + 1970;
  int32_t m = month - (y - 1970) * 12 + 1;
  if (y < 0 || y > 9999) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d", y, m);
    return buf;
  }
  // Every delivery folded names its month: without printf's machinery.
  std::string out = "0000-00";
  for (int i = 3; i >= 0; --i, y /= 10) out[static_cast<size_t>(i)] = static_cast<char>('0' + y % 10);
  out[5] = static_cast<char>('0' + m / 10);
  out[6] = static_cast<char>('0' + m % 10);
  return out;
}

int32_t MonthOfDate(int32_t days) {
  int y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  return (y - 1970) * 12 + static_cast<int32_t>(m) - 1;
}

int32_t FirstDayOfMonth(int32_t month) {
  int32_t y = static_cast<int32_t>(FloorDiv(month, 12)) + 1970;
  return DaysFromCivil(y, static_cast<unsigned>(month - (y - 1970) * 12 + 1), 1);
}

int32_t DateOfTimestamp(int64_t micros, int offset_minutes) {
  return static_cast<int32_t>(FloorDiv(micros + int64_t{offset_minutes} * 60 * kMicrosPerSecond, kMicrosPerDay));
}

}  // namespace eldercare
