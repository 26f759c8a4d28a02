module example.com/buildledger/fixture/xtext

go 1.19

require golang.org/x/text v0.3.2
