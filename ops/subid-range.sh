# shellcheck shell=sh
# subid_range USER FILE USERMOD-OPTION: give USER a range of 65536 subordinate
# ids in FILE (/etc/subuid or /etc/subgid) unless it has one: 100000-165535,
# or the first free one past every range there when that is taken. The chroot
# backend's user namespaces need it. Sourced by scripts/install.sh; node-setup's
# script carries it inline (ops/node-setup.ts). Needs a say() function.
subid_range() { # USER FILE USERMOD-OPTION
	[ -f "$2" ] || : > "$2"
	_uid=$(id -u "$1")
	if grep -q -e "^$1:" -e "^$_uid:" "$2"; then return 0; fi
	_start=$(awk -F: 'NF >= 3 { s = $2 + 0; e = s + $3; if (s < 165536 && e > 100000) taken = 1; if (e > max) max = e }
		END { if (!taken) print 100000; else print int((max + 65535) / 65536) * 65536 }' "$2")
	usermod "$3" "$_start-$((_start + 65535))" "$1"
	say "$1 has the ids $_start-$((_start + 65535)) in $2 (for the chroot backend's user namespaces)"
}
