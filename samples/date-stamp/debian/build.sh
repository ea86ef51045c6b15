date -u +%Y-%m-%d > build/built-on.txt
