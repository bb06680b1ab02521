# Shared rules of the per-Lambda Makefiles. A Lambda's Makefile sets NAME,
# SOURCES (its own modules plus the shared ones it uses) and optionally PACKAGES
# (installed pure-Python packages to vendor), and includes this file.
#   make          build dist/$(NAME).zip (deterministic: same sources, same bytes)
#   make upload   upload it to the foundations bucket; prints the S3 key (STACK=, REGION=)

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
PYTHON := $(ROOT)/.venv/bin/python
STACK ?= streamlines-foundations
REGION ?=

.PHONY: all upload clean
all: dist/$(NAME).zip

$(PYTHON):
	$(MAKE) -C $(ROOT) venv

dist/$(NAME).zip: $(SOURCES) $(ROOT)/lambdas/package.py | $(PYTHON)
	$(PYTHON) $(ROOT)/lambdas/package.py build --name $(NAME) --out dist $(addprefix --package ,$(PACKAGES)) $(SOURCES)

upload: dist/$(NAME).zip
	@$(PYTHON) $(ROOT)/lambdas/package.py upload --zip dist/$(NAME).zip --stack $(STACK) $(if $(REGION),--region $(REGION))

clean:
	rm -rf dist
