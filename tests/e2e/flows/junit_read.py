#!/usr/bin/python3
"""junit_read.py JUNIT_XML RUNS CASES_PER_RUN: a JUnit consumer reads the
combined junit.xml of `wedge run --repeat RUNS` (Debian's python3-junitparser,
the reader several CI tools build on): one testsuite per run, named
"SCENARIO seed N" with distinct seeds, CASES_PER_RUN testcases each, each
suite's counts those of its testcases, the top level's their sum.
"""
import sys

from junitparser import Error, Failure, JUnitXml

path, runs, per_run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
xml = JUnitXml.fromfile(path)
suites = list(xml)
if len(suites) != runs:
    sys.exit(f"junit_read: {len(suites)} testsuites, expected {runs}")
names, total, failures, errors = set(), 0, 0, 0
for s in suites:
    cases = list(s)
    f = sum(1 for c in cases for r in c.result if isinstance(r, Failure))
    e = sum(1 for c in cases for r in c.result if isinstance(r, Error))
    if len(cases) != per_run or s.tests != len(cases) or s.failures != f or s.errors != e:
        sys.exit(f"junit_read: suite {s.name}: {len(cases)} cases, tests={s.tests} "
                 f"failures={s.failures}/{f} errors={s.errors}/{e}, expected {per_run} cases")
    if " seed " not in s.name or s.name in names:
        sys.exit(f"junit_read: suite name {s.name!r}: not 'SCENARIO seed N', or twice")
    names.add(s.name)
    total, failures, errors = total + len(cases), failures + f, errors + e
if xml.tests != total or xml.failures != failures or xml.errors != errors:
    sys.exit(f"junit_read: testsuites tests={xml.tests} failures={xml.failures} "
             f"errors={xml.errors}, the suites sum to {total}/{failures}/{errors}")
print(f"junit_read: {len(suites)} suites, {total} testcases, {failures} failures, {errors} errors")
