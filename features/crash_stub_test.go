package features

const crashHelperEnv = "SWITCHYARD_FEATURES_CRASH_HELPER"

func runCrashHelper() int { return 2 }
