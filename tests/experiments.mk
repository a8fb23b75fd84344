# Experiments and fault-injection campaigns (tests/experiments/, tests/campaigns/; README "Experiments").
#
#   make experiment EXP=tests/experiments/NAME.exp [SET="NAME=VALUE ..."]
#       boot the ISO under -icount shift=0,sleep=off, play the script; the result line
#       and the transcript go to build/out/experiments/
#   make campaign CAMPAIGN=tests/campaigns/NAME.cfg [JOBS=N] [SSHLOGINFILE=FILE] [SPEED=N]
#       golden run, then every run of the fan-out through GNU parallel; rerun to resume;
#       results.csv and report.md in build/out/campaigns/NAME/
#   make campaign-report CSV=PATH   (re)build report.md beside a results.csv

experiment: all
	@test -n "$(EXP)" || { echo "usage: make experiment EXP=tests/experiments/NAME.exp [SET=\"NAME=VALUE ...\"]"; exit 2; }
	python3 tests/experiments/exp.py $(EXP) $(foreach s,$(SET),--set $(s)) --print-json

campaign: all
	@test -n "$(CAMPAIGN)" || { echo "usage: make campaign CAMPAIGN=tests/campaigns/NAME.cfg [JOBS=N] [SSHLOGINFILE=FILE]"; exit 2; }
	python3 tests/campaigns/campaign.py $(CAMPAIGN) $(if $(JOBS),--jobs $(JOBS)) \
		$(if $(SSHLOGINFILE),--sshloginfile $(SSHLOGINFILE)) $(if $(SPEED),--speed $(SPEED))

campaign-report:
	@test -n "$(CSV)" || { echo "usage: make campaign-report CSV=PATH/results.csv"; exit 2; }
	python3 tests/campaigns/report.py $(CSV) $(if $(wildcard $(dir $(CSV))meta.json),--meta $(dir $(CSV))meta.json)

# Host only: the report builds from a fixture CSV, with the figures the fixture implies.
campaign-report-check:
	python3 tests/campaigns/test_report.py

TEST_SCRIPTS += campaign_report_from_csv=campaign-report-check

.PHONY: experiment campaign campaign-report campaign-report-check
