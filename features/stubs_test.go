package features

import "github.com/cucumber/godog"

func (w *world) registerBrokerSteps(sc *godog.ScenarioContext) {}
