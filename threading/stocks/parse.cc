#include "threading/stocks/parse.h"

#include <libxml/HTMLparser.h>
#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/call_once.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace pyconc::stocks {
namespace {

absl::once_flag init_once;

// Owns a libxml2 object: unique_ptr's deleter calling libxml2's `Free`.
template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};
template <typename T, auto Free>
using Owned = std::unique_ptr<T, Freer<Free>>;

// xmlFree is a variable (libxml2's allocator hook), not a function.
void FreeText(xmlChar* text) { xmlFree(text); }

using CompiledXPath = Owned<xmlXPathCompExpr, xmlXPathFreeCompExpr>;

// What the HTML parser had to repair.
struct RepairLog {
  int errors = 0;
  std::string first;  // "12: Unexpected end tag : div".
};

// Receives the HTML parser's errors. libxml2 2.9 predates HTML5 and calls
// <section> or <nav> an unknown tag; that is not broken markup, so not counted.
void CollectParseError(void* user, xmlError* error) {
  if (error == nullptr || error->level < XML_ERR_ERROR ||
      error->code == XML_HTML_UNKNOWN_TAG) {
    return;
  }
  auto* log = static_cast<RepairLog*>(user);
  if (log->errors++ == 0) {
    log->first = absl::StrCat(
        error->line, ": ",
        absl::StripAsciiWhitespace(error->message ? error->message : "error"));
  }
}

// Routes this thread's libxml2 errors to a RepairLog while it exists. libxml2
// keeps the structured error handler per thread (it is built thread-safe), so
// parsers in other threads are unaffected.
class ScopedErrorCollector {
 public:
  explicit ScopedErrorCollector(RepairLog* log)
      : saved_handler_(xmlStructuredError),
        saved_context_(xmlStructuredErrorContext) {
    xmlSetStructuredErrorFunc(log, &CollectParseError);
  }
  ScopedErrorCollector(const ScopedErrorCollector&) = delete;
  ScopedErrorCollector& operator=(const ScopedErrorCollector&) = delete;
  ~ScopedErrorCollector() {
    xmlSetStructuredErrorFunc(saved_context_, saved_handler_);
  }

 private:
  xmlStructuredErrorFunc saved_handler_;
  void* saved_context_;
};

// Keeps the first XPath error of a context instead of printing it.
void KeepXPathError(void* user, xmlError* error) {
  auto* message = static_cast<std::string*>(user);
  if (!message->empty() || error == nullptr || error->message == nullptr) {
    return;
  }
  *message = std::string(absl::StripAsciiWhitespace(error->message));
}

// Compiles `xpath` for `context` (whose errors are routed to `error`).
absl::StatusOr<CompiledXPath> Compile(xmlXPathContext* context,
                                      absl::string_view xpath,
                                      std::string* error) {
  context->error = &KeepXPathError;
  context->userData = error;
  const std::string text(xpath);
  CompiledXPath compiled(xmlXPathCtxtCompile(
      context, reinterpret_cast<const xmlChar*>(text.c_str())));
  if (compiled == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad XPath \"", xpath,
                     "\": ", error->empty() ? "does not compile" : *error));
  }
  return compiled;
}

// The text an XPath selects in `doc`, or nullopt when it selects nothing.
absl::StatusOr<std::optional<std::string>> Select(xmlDoc* doc,
                                                  absl::string_view xpath) {
  Owned<xmlXPathContext, xmlXPathFreeContext> context(xmlXPathNewContext(doc));
  if (context == nullptr) return absl::ResourceExhaustedError("out of memory");
  std::string error;
  absl::StatusOr<CompiledXPath> compiled =
      Compile(context.get(), xpath, &error);
  if (!compiled.ok()) return compiled.status();
  Owned<xmlXPathObject, xmlXPathFreeObject> result(
      xmlXPathCompiledEval(compiled->get(), context.get()));
  if (result == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "XPath \"", xpath, "\" failed: ", error.empty() ? "no result" : error));
  }
  if (result->type == XPATH_NODESET &&
      xmlXPathNodeSetIsEmpty(result->nodesetval)) {
    return std::nullopt;
  }
  Owned<xmlChar, FreeText> text(xmlXPathCastToString(result.get()));
  if (text == nullptr) return std::nullopt;
  std::string value(
      absl::StripAsciiWhitespace(reinterpret_cast<const char*>(text.get())));
  if (value.empty()) return std::nullopt;
  return value;
}

}  // namespace

void InitHtml() {
  absl::call_once(init_once, [] { xmlInitParser(); });
}

absl::Status CheckXPath(absl::string_view xpath) {
  InitHtml();
  Owned<xmlXPathContext, xmlXPathFreeContext> context(
      xmlXPathNewContext(nullptr));
  if (context == nullptr) return absl::ResourceExhaustedError("out of memory");
  std::string error;
  return Compile(context.get(), xpath, &error).status();
}

absl::StatusOr<double> ParseNumber(absl::string_view text) {
  std::string clean = absl::StrReplaceAll(absl::StripAsciiWhitespace(text),
                                          {{"\xE2\x88\x92", "-"}, {",", ""}});
  absl::string_view rest = clean;
  // A currency in front: "$", "USD ", "€" and the like.
  while (!rest.empty() && !absl::ascii_isdigit(rest.front()) &&
         rest.front() != '+' && rest.front() != '-' && rest.front() != '.') {
    rest.remove_prefix(1);
  }
  size_t end = 0;
  if (end < rest.size() && (rest[end] == '+' || rest[end] == '-')) ++end;
  bool digits = false;
  bool point = false;
  for (; end < rest.size(); ++end) {
    if (absl::ascii_isdigit(rest[end])) {
      digits = true;
    } else if (rest[end] == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  double value = 0;
  if (!digits || !absl::SimpleAtod(rest.substr(0, end), &value)) {
    return absl::DataLossError(absl::StrCat("\"", text, "\" is not a number"));
  }
  if (!std::isfinite(value)) {
    return absl::DataLossError(
        absl::StrCat("\"", text, "\" is out of a double's range"));
  }
  return value;
}

absl::StatusOr<QuoteFields> ParseQuote(absl::string_view html,
                                       absl::string_view price_xpath,
                                       absl::string_view change_xpath) {
  InitHtml();
  Owned<htmlParserCtxt, htmlFreeParserCtxt> parser(htmlNewParserCtxt());
  if (parser == nullptr) return absl::ResourceExhaustedError("out of memory");
  // libxml2 repairs what it can; `repairs` remembers whether it had to.
  RepairLog repairs;
  Owned<xmlDoc, xmlFreeDoc> doc;
  {
    ScopedErrorCollector collect(&repairs);
    doc.reset(htmlCtxtReadMemory(parser.get(), html.data(),
                                 static_cast<int>(html.size()), nullptr,
                                 nullptr,
                                 HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
                                     HTML_PARSE_NOWARNING | HTML_PARSE_NONET));
  }
  if (doc == nullptr || xmlDocGetRootElement(doc.get()) == nullptr) {
    return absl::DataLossError("malformed HTML: nothing to parse");
  }
  absl::StatusOr<std::optional<std::string>> price =
      Select(doc.get(), price_xpath);
  if (!price.ok()) return price.status();
  if (!price->has_value()) {
    if (repairs.errors > 0) {
      return absl::DataLossError(
          absl::StrCat("malformed HTML (", repairs.errors, " errors; line ",
                       repairs.first, "); no price found"));
    }
    return absl::NotFoundError(absl::StrCat("no price on the page (",
                                            price_xpath, " matched nothing)"));
  }
  QuoteFields fields;
  absl::StatusOr<double> number = ParseNumber(**price);
  if (!number.ok()) {
    return absl::DataLossError(
        absl::StrCat("price ", number.status().message()));
  }
  fields.price = *number;

  if (!change_xpath.empty()) {
    absl::StatusOr<std::optional<std::string>> change =
        Select(doc.get(), change_xpath);
    if (!change.ok()) return change.status();
    if (change->has_value()) {
      absl::StatusOr<double> delta = ParseNumber(**change);
      if (delta.ok()) fields.change = *delta;
    }
  }
  return fields;
}

}  // namespace pyconc::stocks
