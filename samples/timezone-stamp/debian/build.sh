printf "%s %s\n" "$(date +%z)" "${LANG:-unset}" > build/zone.txt
