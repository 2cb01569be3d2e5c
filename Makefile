# crmdesk developer commands. `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TS     := $(wildcard resources/translations/*.ts)
QM     := $(TS:.ts=.qm)

.PHONY: run test qm translations screenshots bench package clean

run: $(STAMP) $(QM)
	@$(BIN)/python tools/check_qt.py
	$(BIN)/crmdesk --demo

test: $(STAMP) $(QM)
	@QT_QPA_PLATFORM=offscreen $(BIN)/python tools/check_qt.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n auto --dist worksteal -m "not serial"
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m serial

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "crmdesk needs Python 3.11 or newer; this is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

# Installs crmdesk (editable) with its test extras; redone when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# Compiled translations, rebuilt whenever their .ts source changes.
qm: $(QM)
%.qm: %.ts | $(STAMP)
	$(BIN)/pyside6-lrelease -silent $< -qm $@

# Collect new interface strings from the code into the .ts files (then translate them).
translations: $(STAMP)
	$(BIN)/pyside6-lupdate -no-obsolete -locations relative $$(git ls-files 'crmdesk/*.py') -ts $(TS)

# The README's pictures: the counter PC's screens (1366×768 and 1024×768, the window maximised).
screenshots: $(STAMP) $(QM)
	mkdir -p docs
	$(BIN)/crmdesk --demo --lang zh_CN --size 1366x768 --view counter --search 2900000001039 --screenshot docs/screenshot-zh_CN.png
	$(BIN)/crmdesk --demo --lang zh_CN --size 1024x768 --view counter --search 2900000001039 --screenshot docs/counter-1024-zh_CN.png
	$(BIN)/crmdesk --demo --lang en --size 1366x768 --view counter --search 2900000001039 --screenshot docs/screenshot-en.png
	$(BIN)/crmdesk --demo --lang zh_CN --size 1366x768 --view members --screenshot docs/members-zh_CN.png
	$(BIN)/crmdesk --demo --lang zh_CN --size 1366x768 --view overview --screenshot docs/overview-zh_CN.png
	$(BIN)/crmdesk --demo --lang zh_CN --size 1366x768 --view complaints --screenshot docs/complaints-zh_CN.png
	$(BIN)/crmdesk --demo --lang zh_CN --size 1366x768 --view money --screenshot docs/money-zh_CN.png
	$(BIN)/crmdesk --demo backup >/dev/null
	$(BIN)/crmdesk --demo --lang zh_CN --size 1024x768 --view backups --screenshot docs/backups-zh_CN.png
	$(BIN)/python tools/dialog_screenshots.py docs

# Store-scale benchmark at the default size (100,000 members); see `crmdesk bench --help`.
bench: $(STAMP) $(QM)
	QT_QPA_PLATFORM=offscreen $(BIN)/crmdesk bench --json bench.json

# The one-folder program for shops (no Python needed) in dist/crmdesk; see installer/.
package: $(STAMP) $(QM)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	$(BIN)/python installer/build.py

clean:
	rm -rf $(VENV) build dist *.egg-info $(QM)
