#!/usr/bin/env bash
echo "pyconc: 'bazel coverage' is not supported by the offline workspace" >&2
exit 1
