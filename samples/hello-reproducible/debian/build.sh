date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d > build/released.txt
echo "Hello from a reproducible package." > build/hello.txt
