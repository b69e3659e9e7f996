# FaceCase: two commands.
#   make run   - virtualenv, install, migrate, demo users, then Redis + worker + web + cameras on 127.0.0.1:8000 (Ctrl-C stops all)
#   make test  - virtualenv, install dev tools, ruff, migrations check, import contracts, mypy, the whole pytest suite
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: run test lint browser evidence-tools

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Stamps: reinstall only when a requirements file changed.
$(VENV)/.installed-run: requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run evidence-tools
	$(PY) manage.py migrate --noinput
	$(PY) manage.py create_demo_users
	$(PY) manage.py runall

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# The browser tests need Chromium and its driver, the footage-format and hostile-input tests ffmpeg (they make their
# corpus with it), the camera tests a real RTSP server (Debian's GStreamer RTSP server through python3-gi, x264enc
# from plugins-ugly); install them when we can (root + apt), else those tests skip and say why.
SYSTEM_PACKAGES := chromium chromium-driver ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && command -v ffmpeg >/dev/null 2>&1 \
		&& /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get install -y $(SYSTEM_PACKAGES) || (apt-get update && apt-get install -y $(SYSTEM_PACKAGES)) \
		|| echo "chromium, ffmpeg or the RTSP server could not be installed: the browser, format or RTSP camera tests will skip"; \
	else echo "no root apt-get: browser, format and RTSP camera tests skip where chromium, ffmpeg or the RTSP server is missing"; fi

# The PDF report of evidence packages needs Pango (WeasyPrint); its test renders pages with poppler's pdftoppm.
evidence-tools:
	@if [ -e /usr/lib/x86_64-linux-gnu/libpango-1.0.so.0 ] || ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0; then \
		pango=1; fi; \
	if [ -n "$$pango" ] && command -v pdftoppm >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils \
		|| (apt-get update && apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils) \
		|| echo "Pango/poppler could not be installed: evidence export cannot render report.pdf"; \
	else echo "no Pango or pdftoppm and no root apt-get: evidence export cannot render report.pdf"; fi

# Two pytest workers (pytest-xdist), one module each at a time: each worker is its own test session with its own
# database, queue name, channel prefix and media folder (tests/conftest.py), and most of the slow stories wait on
# real worker and server processes, so two at once use both cores. PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2

test: $(VENV)/.installed-dev browser evidence-tools lint
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile
