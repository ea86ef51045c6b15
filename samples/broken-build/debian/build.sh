echo "this sample does not build, on purpose" >&2
exit 1
