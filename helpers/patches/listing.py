"""How a machine's installed packages are listed: dpkg-query's or rpm's fields, or the manifest
the probe image carries instead of a package database. The standard library alone: the image
build (guest/build.py, run by the system's Python before any virtual environment exists)
writes the manifest in these fields.

    LIST_COMMAND    # one shell command: "+ manifest", "+ dpkg", "+ rpm" or "+ none", then the list
"""

# Where the probe guest's image records the Debian packages it was made from (guest/build.py),
# in the format of DPKG_FORMAT: it has no package database of its own.
MANIFEST = "/usr/share/vmiso/packages"
DPKG_FORMAT = r"${db:Status-Abbrev}\t${Package}\t${Version}\t${source:Package}\t" \
              r"${source:Version}\t${Built-Using}\n"
RPM_FORMAT = r"%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{SOURCERPM}\n"
# One shell command that says which listing follows ("+ manifest", "+ dpkg", "+ rpm", "+ none")
# and prints it; the manifest first (busybox's rpm applet must not answer for the probe guest).
LIST_COMMAND = (f"if [ -r {MANIFEST} ]; then echo '+ manifest'; cat {MANIFEST};"
                f" elif command -v dpkg-query >/dev/null 2>&1; then echo '+ dpkg';"
                f" dpkg-query -W -f '{DPKG_FORMAT}';"
                f" elif command -v rpm >/dev/null 2>&1; then echo '+ rpm'; rpm -qa --qf"
                f" '{RPM_FORMAT}'; else echo '+ none'; fi")
