hostname > build/built-by.txt
