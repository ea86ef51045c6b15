pwd > build/built-in.txt
