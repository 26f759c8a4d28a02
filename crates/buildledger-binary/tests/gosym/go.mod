module example.com/gosymtest

go 1.19
