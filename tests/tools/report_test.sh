#!/usr/bin/env bash
# The tour's HTML report, opened in real headless Chromium: every topic's section
# renders (the page's own script counts them into data-sections without an error),
# no tool failed, and each section that recorded a trace has its SVG timeline, with
# slices drawn in it. A screenshot is kept as a test output (report.png).
#
#   report_test.sh TOUR [TOPIC]
set -euo pipefail

tour=$1
topic=${2:-}
out="${TEST_TMPDIR:-$(mktemp -d)}/report"
mkdir -p "${out}"
shots="${TEST_UNDECLARED_OUTPUTS_DIR:-${out}}"
chromium=$(command -v chromium || true)
[[ -n "${chromium}" ]] || { echo "chromium is not installed (tools/bazel installs it for this test)"; exit 1; }

"${tour}" --topic="${topic}" --html="${out}" > "${out}/tour.log" 2>&1 ||
  { tail -n 20 "${out}/tour.log"; echo "the tour failed"; exit 1; }
sections=$(grep -c '^<section>' "${out}/index.html")
(( sections > 0 )) || { echo "the report has no section"; exit 1; }

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="${out}/profile" --enable-logging=stderr --v=0)
dom=$(timeout 120 "${chromium}" "${flags[@]}" --dump-dom "file://${out}/index.html" \
  2> "${out}/chromium.log") || { tail -n 20 "${out}/chromium.log"; exit 1; }

if grep -q 'Uncaught' "${out}/chromium.log"; then
  grep 'Uncaught' "${out}/chromium.log" | head -n 3
  echo "the page has a script error"
  exit 1
fi
grep -q "data-sections=\"${sections}\"" <<< "${dom}" ||
  { echo "Chromium rendered $(grep -o 'data-sections="[0-9]*"' <<< "${dom}" || echo none) of ${sections} sections"; exit 1; }
if grep -q 'class="failed"' <<< "${dom}"; then
  echo "a tool failed in the tour:"
  grep -o '<h2>[^<]*</h2>' "${out}/index.html" | head
  exit 1
fi
timelines=$(grep -c '<svg' <<< "${dom}" || true)
traced=0
for trace in "${out}"/topic-*.json; do
  if grep -q '"ph"' "${trace}"; then traced=$((traced + 1)); fi
done
(( timelines == traced )) ||
  { echo "${traced} topics recorded a trace but ${timelines} timelines rendered"; exit 1; }
# Every timeline drew slices (the libraries record them), not only an axis.
empty=$(awk '/<svg/ { inside = 1; rects = 0 } inside && /<rect/ { rects++ }
  /<\/svg>/ { if (inside && rects == 0) n++; inside = 0 } END { print n + 0 }' <<< "${dom}")
(( empty == 0 )) || { echo "${empty} of ${timelines} timelines drew no slice"; exit 1; }

timeout 120 "${chromium}" "${flags[@]}" --window-size=1200,2400 \
  --screenshot="${shots}/report.png" "file://${out}/index.html" > /dev/null 2>&1 ||
  { echo "no screenshot"; exit 1; }
[[ -s "${shots}/report.png" ]] || { echo "empty screenshot"; exit 1; }
echo "report: ${sections} sections, ${timelines} timelines rendered in Chromium; screenshot ${shots}/report.png"
