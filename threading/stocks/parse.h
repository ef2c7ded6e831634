// Reading a quote out of an HTML page, as Python's lxml does it: libxml2's
// forgiving HTML parser builds a tree (recovering from broken markup as a
// browser would), and XPath expressions pick the price and the change.
//
// Outcomes are values: a page whose price XPath matches nothing answers
// kNotFound ("no price on the page"); a page the parser had to repair and in
// which the price could not be found answers kDataLoss ("malformed HTML");
// a price whose text is not a number answers kDataLoss too. Repaired markup
// whose price is readable is fine, as in a browser.
//
// Thread-safety: every function may be called from any number of threads at
// once, each parsing its own page. InitHtml() (xmlInitParser) must run once
// before threads parse; ParseQuote() calls it, so only a program that also
// uses libxml2 elsewhere needs to call it from main first. libxml2's errors
// are collected per call, never printed.

#ifndef PYCONC_THREADING_STOCKS_PARSE_H_
#define PYCONC_THREADING_STOCKS_PARSE_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyconc::stocks {

// What a quote page says.
struct QuoteFields {
  double price = 0;
  // The day's change, when the page shows one the change XPath finds.
  std::optional<double> change;
};

// Initializes libxml2 for the process (xmlInitParser); runs once, however often
// it is called.
void InitHtml();

// OK when `xpath` is a valid XPath 1.0 expression; otherwise says why.
absl::Status CheckXPath(absl::string_view xpath);

// Parses `html` and evaluates `price_xpath` (required) and `change_xpath`
// (optional; empty skips it). Each XPath may select nodes (the first one's text
// is used) or compute a string or number.
absl::StatusOr<QuoteFields> ParseQuote(absl::string_view html,
                                       absl::string_view price_xpath,
                                       absl::string_view change_xpath);

// The number at the start of a price or change text: "$1,234.50" -> 1234.5,
// "+1.25 (+0.87%)" -> 1.25, "−0.40" (Unicode minus) -> -0.4. A number too
// large for a double (e.g. 400 digits) is kDataLoss, not infinity.
absl::StatusOr<double> ParseNumber(absl::string_view text);

}  // namespace pyconc::stocks

#endif  // PYCONC_THREADING_STOCKS_PARSE_H_
