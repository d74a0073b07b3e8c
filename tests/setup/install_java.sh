#!/usr/bin/env bash
# Test set-up: a Java runtime for the local Spark of the Spark tests (tests/python/test_spark.py:
# pyspark starts a JVM). Installs Debian's OpenJDK 17 JRE only when no `java` is on the PATH;
# needs root (CI and the developer machines run as root) and Debian's package registry.
set -euo pipefail

if command -v java >/dev/null 2>&1; then
    echo "java present: $(java -version 2>&1 | head -n 1)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "installing Debian's openjdk-17-jre-headless (the JVM of the local Spark tests)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
echo "java installed: $(java -version 2>&1 | head -n 1)"
