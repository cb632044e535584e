// Times and dates as the ledger stores them, and their text forms.
//   timestamp: int64 microseconds since 1970-01-01T00:00:00Z  <->  RFC 3339
//   date:      int32 days since 1970-01-01 (a civil date)      <->  "YYYY-MM-DD"
#ifndef ELDERCARE_LEDGER_TIME_UTIL_H_
#define ELDERCARE_LEDGER_TIME_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace eldercare {

// "2024-03-01T08:30:00Z", "2024-03-01T08:30:00.250+08:00". Seconds required,
// fraction up to 6 digits, offset required.
Result<int64_t> ParseTimestamp(std::string_view text);
// UTC with 'Z'; fraction printed only when non-zero.
std::string FormatTimestamp(int64_t micros);
// Same instant shown in a fixed offset (China Standard Time is +480 minutes).
std::string FormatTimestampOffset(int64_t micros, int offset_minutes);

// The dates and instants the ledger stores: years 0001 to 9999 (what RFC
// 3339 can write). Values outside are refused at write time (ValidateBody);
// the Format functions show one as "out of range (N)" instead of a date.
constexpr int32_t kMinDay = -719162;             // 0001-01-01
constexpr int32_t kMaxDay = 2932896;             // 9999-12-31
constexpr int64_t kMinMicros = -62135596800000000;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxMicros = 253402300799999999;  // 9999-12-31T23:59:59.999999Z
inline bool DayInRange(int64_t days) { return days >= kMinDay && days <= kMaxDay; }
inline bool MicrosInRange(int64_t micros) { return micros >= kMinMicros && micros <= kMaxMicros; }

Result<int32_t> ParseDate(std::string_view text);
std::string FormatDate(int32_t days);
int32_t DaysFromCivil(int y, unsigned m, unsigned d);
void CivilFromDays(int32_t days, int* y, unsigned* m, unsigned* d);

// Whole years between two dates (age on `on` of someone born on `birth`).
int YearsBetween(int32_t birth, int32_t on);

// "2024-03" <-> months since 1970-01 (0 = 1970-01).
Result<int32_t> ParseMonth(std::string_view text);
std::string FormatMonth(int32_t month);
int32_t MonthOfDate(int32_t days);
int32_t FirstDayOfMonth(int32_t month);

// The local civil date of an instant in a fixed offset (minutes east of UTC).
int32_t DateOfTimestamp(int64_t micros, int offset_minutes);

constexpr int kChinaOffsetMinutes = 8 * 60;
constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_TIME_UTIL_H_
