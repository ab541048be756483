package features

import "github.com/cucumber/godog"

func (w *world) registerConfigSteps(sc *godog.ScenarioContext) {}
func (w *world) registerBrokerSteps(sc *godog.ScenarioContext) {}
