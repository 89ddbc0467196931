{"NotificationContainer":{"type":"log","size":1,"LogSentNotification":[{"level":3,"thread":"6536","time":"Nov 29, 2024 11:00:09.977","message":"..."}]}}
