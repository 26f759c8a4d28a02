module example.com/buildledger/fixture/xnet

go 1.19

require golang.org/x/net v0.0.0-20180724234803-3673e40ba225
