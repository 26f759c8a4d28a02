module example.com/buildledger/fixture/stdlib

go 1.19
