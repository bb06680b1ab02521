# Stream Lines infrastructure. `make help` lists the targets.
# The Makefile makes its own virtualenvs; nothing needs installing by hand beyond Python 3.11+ and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
SAM_VENV := .venv-sam
OUT ?= build
PROFILE ?= all

INSTALLED := $(VENV)/.installed
CHECKOV_INSTALLED := $(CHECKOV_VENV)/.installed
SAM_INSTALLED := $(SAM_VENV)/.installed
# SAM CLI offline: no telemetry, no update check.
export SAM_CLI_TELEMETRY := 0
export BC_SKIP_MAPPING := TRUE

.DEFAULT_GOAL := help
.PHONY: help venv lock templates lint checkov test format sam sam-validate sam-build snapshots mutants template-faults prove-invariants bench-templates lambdas upload-lambdas mirror-images bench-lambdas readme dashboards provision smoke cost deploy teardown diagram clean

STACK_PREFIX ?= streamlines
DEPLOY_PROFILE = $(filter lite lite-pipeline full cloudfront,$(PROFILE))
FOUNDATIONS_STACK = $(or $(STACK),$(STACK_PREFIX)-foundations)
# A variable as one shell word, whatever it holds: make passes recipes to the
# shell, and an operator's value must never run as a command ('x;rm -rf ~').
q = '$(subst ','\'',$(1))'
# Options every AWS command reads the same way (streamlines/context.py).
REGION_OPTION = $(if $(REGION),--region $(call q,$(REGION)))
CONFIG_OPTION = $(if $(CONFIG),--config $(call q,$(CONFIG)))

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

# grafana-client's HTTP library (niquests) brings urllib3-future, which by default
# installs itself as `urllib3` and so replaces the urllib3 boto3 runs on. Built with
# URLLIB3_NO_OVERRIDE it installs as urllib3_future only, which niquests uses
# (https://github.com/jawah/urllib3.future, "Notes / Frequently Asked Questions").
INSTALL = URLLIB3_NO_OVERRIDE=true $(1)/python -m pip install --quiet --no-binary urllib3-future

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(call INSTALL,$(BIN)) -c constraints.txt -e '.[test,lambda-vendor]'
	touch $@

lock: ## refresh constraints.txt: the newest versions pyproject.toml allows, resolved in a scratch virtualenv and frozen
	rm -rf $(OUT)/lock-venv
	$(PYTHON) -m venv $(OUT)/lock-venv
	$(OUT)/lock-venv/bin/python -m pip install --quiet --upgrade pip
	$(call INSTALL,$(OUT)/lock-venv/bin) -e '.[test,lambda-vendor]'
	{ sed -n '/^#/p' constraints.txt; $(OUT)/lock-venv/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(OUT)/lock-venv

$(CHECKOV_INSTALLED): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

$(SAM_INSTALLED): requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.txt
	touch $@

venv: $(INSTALLED) ## create the virtualenv with the project and its test tools

templates: $(INSTALLED) ## render every template into build/ and lint it with cfn-lint
	$(BIN)/streamlines templates --profile $(call q,$(PROFILE)) --out $(call q,$(OUT)) $(CONFIG_OPTION)
	$(BIN)/cfn-lint -- $(call q,$(OUT))/*.json

checkov: $(CHECKOV_INSTALLED) $(INSTALLED) ## run checkov (offline) on the templates, rendered with their checkov notes into build/lint/
	$(BIN)/streamlines templates --profile $(call q,$(PROFILE)) --out $(call q,$(OUT)/lint) --lint-notes $(CONFIG_OPTION)
	$(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact --framework cloudformation -d $(call q,$(OUT)/lint)

lint: templates checkov ## cfn-lint and checkov on every rendered template

test: $(INSTALLED) $(CHECKOV_INSTALLED) $(SAM_INSTALLED) ## the whole test suite (CI runs exactly this): ruff, import contracts, then pytest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest

format: $(INSTALLED) ## format the code and apply ruff's safe fixes (make test checks both)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

snapshots: $(INSTALLED) ## accept the current renders as the template snapshots (review the diff first)
	UPDATE_SNAPSHOTS=1 $(BIN)/pytest -q tests/templates/test_snapshots.py

mutants: $(INSTALLED) ## mutation testing (mutmut) of the Lambdas, Grafana provisioning, operations and evaluator; killed/survived/timeout per module [GROUPS= ONLY= SAMPLE= RESUME=1 SURVIVORS=1]
	$(BIN)/python -m pip install --quiet "mutmut>=3.2,<4"
	$(BIN)/python -m tests.mutation.run $(GROUPS) $(if $(RESUME),--resume) $(if $(SURVIVORS),--survivors) $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(ONLY),--only $(foreach p,$(ONLY),'$(p)'))

template-faults: $(INSTALLED) ## plant realistic faults in templates_py/ one at a time (scratch copy, snapshots regenerated) and report which test catches each [ONLY=]
	$(BIN)/python -m tests.faults.run $(if $(ONLY),--only $(foreach p,$(ONLY),$(call q,$(p))))

prove-invariants: $(INSTALLED) ## run the first-deploy checks over an older revision's templates (REV=, default the one before the fixes)
	$(BIN)/python -m tests.templates.prove $(REV)

bench-templates: $(INSTALLED) ## time `make templates` (render + cfn-lint) on a warm virtualenv, 5 runs
	$(BIN)/python -c 'import statistics, subprocess, time; runs = []; \
	[runs.append(-time.perf_counter() + (subprocess.run(["make", "-s", "templates", "OUT=$(OUT)"], check=True, capture_output=True) and time.perf_counter())) for _ in range(5)]; \
	print("make templates: " + ", ".join(f"{r:.2f}" for r in runs) + f" s; median {statistics.median(runs):.2f} s")'

lambdas: $(INSTALLED) ## build every Lambda zip (lambdas/functions.toml) into lambdas/<name>/dist/ (deterministic)
	$(BIN)/streamlines lambdas build

upload-lambdas: lambdas ## upload every Lambda zip to the foundations bucket (STACK=foundations stack, REGION=); prints name=key lines
	@$(BIN)/streamlines lambdas upload --foundations-stack $(call q,$(FOUNDATIONS_STACK)) $(REGION_OPTION)

bench-lambdas: $(INSTALLED) ## results pusher: queries, posts and wall time for 1,000 records / 500 connections against moto
	$(BIN)/python -m tests.bench.lambdas

readme: $(INSTALLED) ## rewrite README.md's generated sections (services contract table, cost table) from their data
	$(BIN)/python -m streamlines.readme

dashboards: $(INSTALLED) ## regenerate grafana/dashboards/*.json from grafana/dashboards.py
	$(BIN)/python -m grafana.dashboards

mirror-images: $(INSTALLED) ## copy the pinned InfluxDB and Grafana images into the foundations ECR (Docker CLI) [STACK_PREFIX=] [REGION=] [CONFIG=]
	$(BIN)/streamlines mirror-images --prefix $(call q,$(STACK_PREFIX)) $(REGION_OPTION) $(CONFIG_OPTION)

provision: $(INSTALLED) ## configure a lite stack's Grafana: STACK=name [REGION=] [GRAFANA_URL=] [DRY_RUN=1] [INSECURE_HTTP=1]
	@test -n $(call q,$(STACK)) || { echo "make provision needs STACK=<lite stack name>" >&2; exit 2; }
	$(BIN)/streamlines grafana provision --stack $(call q,$(STACK)) $(REGION_OPTION) $(if $(GRAFANA_URL),--grafana-url $(call q,$(GRAFANA_URL))) $(if $(DRY_RUN),--dry-run) $(if $(INSECURE_HTTP),--allow-insecure-http)

smoke: $(INSTALLED) ## check end to end that a deployed stack works: STACK=name [REGION=] [GRAFANA_URL=] [INSECURE_HTTP=1] [JSON=1]
	@test -n $(call q,$(STACK)) || { echo "make smoke needs STACK=<lite, lite-pipeline or full stack name>" >&2; exit 2; }
	$(BIN)/streamlines smoke --stack $(call q,$(STACK)) $(REGION_OPTION) $(if $(GRAFANA_URL),--grafana-url $(call q,$(GRAFANA_URL))) $(if $(INSECURE_HTTP),--allow-insecure-http) $(if $(JSON),--json)

cost: $(INSTALLED) ## monthly list-price estimates: lite and every full network mode side by side [CONFIG=]
	@$(BIN)/streamlines cost --compare $(CONFIG_OPTION)

deploy: ## deploy PROFILE=lite|lite-pipeline|full|cloudfront [STACK_PREFIX=streamlines] [REGION=] [CONFIG=]: foundations if missing, Lambdas, preflight, the stack
	@test -n "$(DEPLOY_PROFILE)" || { echo "make deploy needs PROFILE=lite, lite-pipeline, full or cloudfront" >&2; exit 2; }
	$(MAKE) --no-print-directory templates PROFILE=all CONFIG=$(call q,$(CONFIG))
	$(MAKE) --no-print-directory lambdas
	$(BIN)/streamlines deploy --profile $(DEPLOY_PROFILE) --prefix $(call q,$(STACK_PREFIX)) --build $(call q,$(OUT)) $(REGION_OPTION) $(CONFIG_OPTION)

teardown: $(INSTALLED) ## delete PROFILE's stack, then list what is left [CONFIG=]; FOUNDATIONS=delete CONFIRM=<prefix>-foundations also deletes foundations
	@test -n "$(DEPLOY_PROFILE)" || { echo "make teardown needs PROFILE=lite, lite-pipeline, full or cloudfront" >&2; exit 2; }
	$(BIN)/streamlines teardown --profile $(DEPLOY_PROFILE) --prefix $(call q,$(STACK_PREFIX)) $(REGION_OPTION) $(CONFIG_OPTION) --foundations $(call q,$(FOUNDATIONS)) --confirm $(call q,$(CONFIRM))

sam: $(INSTALLED) ## render lite and full as a SAM application into build/sam/ with samconfig.toml [APP_BUCKET=] [STACK_PREFIX=] [REGION=] [CONFIG=]
	$(BIN)/streamlines sam --out $(call q,$(OUT)) --prefix $(call q,$(STACK_PREFIX)) $(REGION_OPTION) $(CONFIG_OPTION) $(if $(APP_BUCKET),--app-bucket $(call q,$(APP_BUCKET)))

sam-validate: sam $(SAM_INSTALLED) ## sam validate --lint on every SAM render (offline)
	@for template in $(OUT)/sam/*.json; do $(SAM_VENV)/bin/sam validate --lint -t $$template || exit 1; done

sam-build: sam $(SAM_INSTALLED) ## sam build of every SAM render (offline, no Docker): build/sam/.aws-sam-<profile>/
	@for template in $(OUT)/sam/*.json; do \
		name=$$(basename $$template .json); \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(SAM_VENV)/bin/sam build -t $$template -b $(OUT)/sam/.aws-sam-$$name || exit 1; \
	done

diagram: $(INSTALLED) ## draw each profile's architecture from the model into docs/architecture-<profile>.svg (the README shows them)
	$(BIN)/streamlines diagram --out docs

clean: ## remove build output and caches (keeps the virtualenvs)
	rm -rf $(OUT) .pytest_cache lambdas/*/dist
	find . -name __pycache__ -type d -not -path './.venv*' -prune -exec rm -rf {} +
